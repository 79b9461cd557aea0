//! The real desktop app under Xvfb, driven over WebDriver: Debian's WebKitWebDriver starts the
//! `tideline` binary itself (`webkitgtk:browserOptions`), and fantoccini speaks WebDriver to it.
//! Each step can save a screenshot into `target/e2e-screenshots/<test>/`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::{Mutex, MutexGuard};

/// One desktop at a time: the machine has two cores and WebKit is heavy.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// WebKitGTK's variable that turns accelerated compositing off (the app sets it to `1` unless
/// it is set: `src-tauri/src/lib.rs`). Tests clear it, so a developer's own setting never
/// decides the mode; a test that wants one passes it.
pub const WEBKIT_DISABLE_COMPOSITING_MODE: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";

pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Desktop {
    pub client: Client,
    /// The app's XDG data home (its session files, the page's localStorage); deleted with the
    /// desktop, kept by [`Desktop::restart`].
    data_home: Option<TempDir>,
    /// The app's arguments and environment, for [`Desktop::restart`].
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// The screen, and the window's size.
    size: (u32, u32),
    shots: PathBuf,
    step: u32,
    /// The X display the app runs on (`:N`).
    display: u32,
    xvfb: Child,
    driver: Child,
    _turn: MutexGuard<'static, ()>,
}

/// Writes the whole screen of X display `:display` to `path` as an 8-bit RGB PNG: the root
/// window's pixels (`GetImage`, ZPixmap), which under Xvfb are what a monitor would show.
/// Errors: the display cannot be reached, its pixels are not 24-bit TrueColor (0xRRGGBB) in
/// unpadded 32-bit words (Xvfb's `-screen 0 WxHx24`), or the file cannot be written.
pub fn capture_screen(display: u32, path: &Path) -> Result<(), String> {
    use x11rb::connection::Connection;
    use x11rb::protocol::xproto::{ConnectionExt, ImageFormat, ImageOrder};

    let (connection, screen) =
        x11rb::connect(Some(&format!(":{display}"))).map_err(|error| error.to_string())?;
    let setup = connection.setup();
    let root = &setup.roots[screen];
    let (width, height) = (root.width_in_pixels, root.height_in_pixels);
    let image = connection
        .get_image(ImageFormat::Z_PIXMAP, root.root, 0, 0, width, height, !0)
        .map_err(|error| error.to_string())?
        .reply()
        .map_err(|error| error.to_string())?;
    let words_of_32 = setup
        .pixmap_formats
        .iter()
        .any(|format| format.depth == image.depth && format.bits_per_pixel == 32);
    let rgb_masks = root
        .allowed_depths
        .iter()
        .flat_map(|depth| &depth.visuals)
        .find(|visual| visual.visual_id == root.root_visual)
        .map(|visual| (visual.red_mask, visual.green_mask, visual.blue_mask));
    let pixels = usize::from(width) * usize::from(height);
    if image.depth != 24
        || !words_of_32
        || rgb_masks != Some((0xff_0000, 0xff00, 0xff))
        || image.data.len() != pixels * 4
    {
        return Err(format!(
            "{} bytes of depth {}, masks {rgb_masks:x?}, for {width}x{height}: not 0xRRGGBB \
             in unpadded 32-bit words",
            image.data.len(),
            image.depth
        ));
    }
    // Each pixel is one 32-bit word, 0x00RRGGBB, in the server's byte order.
    let little_endian = setup.image_byte_order == ImageOrder::LSB_FIRST;
    let mut rgb = Vec::with_capacity(pixels * 3);
    for word in image.data.chunks_exact(4) {
        let [b, g, r] = if little_endian {
            [word[0], word[1], word[2]]
        } else {
            [word[3], word[2], word[1]]
        };
        rgb.extend_from_slice(&[r, g, b]);
    }
    let file = std::fs::File::create(path).map_err(|error| error.to_string())?;
    let mut encoder = png::Encoder::new(
        std::io::BufWriter::new(file),
        u32::from(width),
        u32::from(height),
    );
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|error| error.to_string())?;
    writer
        .write_image_data(&rgb)
        .map_err(|error| error.to_string())?;
    writer.finish().map_err(|error| error.to_string())
}

/// One process of the app under test.
#[derive(Debug, Clone)]
pub struct AppProcess {
    pub pid: u32,
    /// `tideline`, `web` (WebKitWebProcess) or `network` (WebKitNetworkProcess).
    pub role: &'static str,
}

/// The app and its WebKit children: descendants of this test process (Xvfb, WebKitWebDriver →
/// tideline → WebKit*Process), so other desktops on the machine are never counted.
pub fn app_processes() -> Vec<AppProcess> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut parent = std::collections::HashMap::new();
        let mut comm = std::collections::HashMap::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                continue;
            };
            let ppid = stat[close + 2..]
                .split(' ')
                .nth(1)
                .and_then(|p| p.parse().ok());
            parent.insert(pid, ppid.unwrap_or(0u32));
            comm.insert(pid, stat[open + 1..close].to_owned());
        }
        let me = std::process::id();
        let descends = |mut pid: u32| {
            while let Some(&p) = parent.get(&pid) {
                if p == me {
                    return true;
                }
                pid = p;
            }
            false
        };
        let mut found: Vec<AppProcess> = comm
            .iter()
            .filter(|(pid, _)| descends(**pid))
            .filter_map(|(pid, name)| {
                let role = match name.as_str() {
                    "tideline" => "tideline",
                    n if n.starts_with("WebKitWebProces") => "web",
                    n if n.starts_with("WebKitNetworkPr") => "network",
                    _ => return None,
                };
                Some(AppProcess { pid: *pid, role })
            })
            .collect();
        found.sort_by_key(|p| (p.role, p.pid));
        if found.iter().any(|p| p.role == "tideline") && found.iter().any(|p| p.role == "web") {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "no tideline and web process: {found:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A display number no running X server holds. A lock file left by a server that was killed
/// (its pid is gone) does not hold it: Xvfb replaces such a stale lock itself.
fn free_display() -> u32 {
    (90..200)
        .find(|n| {
            let lock = format!("/tmp/.X{n}-lock");
            match std::fs::read_to_string(&lock) {
                Err(_) => true,
                Ok(pid) => pid
                    .trim()
                    .parse::<u32>()
                    .is_ok_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()),
            }
        })
        .expect("a free X display number")
}

/// The screen, `WIDTHxHEIGHT`: `E2E_SCREEN` (to look at a run at 1024x700 or 2560x1440), else
/// 1280x800.
pub fn screen() -> (u32, u32) {
    let text = std::env::var("E2E_SCREEN").unwrap_or_else(|_| "1280x800".to_owned());
    let (width, height) = text.split_once('x').expect("E2E_SCREEN is WIDTHxHEIGHT");
    (
        width.parse().expect("a width"),
        height.parse().expect("a height"),
    )
}

fn wait_until(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Desktop {
    /// Starts Xvfb, WebKitWebDriver and the app with `args`, and waits for the page to load.
    pub async fn launch(test: &str, args: &[&str]) -> Desktop {
        Desktop::launch_with_env(test, args, &[]).await
    }

    /// [`Desktop::launch`] with more environment for the app (it inherits the driver's).
    pub async fn launch_with_env(test: &str, args: &[&str], env: &[(&str, &str)]) -> Desktop {
        Desktop::launch_sized(test, args, env, screen()).await
    }

    /// [`Desktop::launch`] on a screen of `(width, height)`, whatever `E2E_SCREEN` says (a test
    /// of how the app fits a size).
    pub async fn launch_at(test: &str, args: &[&str], size: (u32, u32)) -> Desktop {
        Desktop::launch_sized(test, args, &[], size).await
    }

    async fn launch_sized(
        test: &str,
        args: &[&str],
        env: &[(&str, &str)],
        size: (u32, u32),
    ) -> Desktop {
        let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("../e2e-screenshots")
            .join(test);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).unwrap();
        Desktop::start(
            args.iter().map(|a| a.to_string()).collect(),
            env.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            size,
            TempDir::new().unwrap(),
            shots,
            0,
        )
        .await
    }

    /// Quits the app and starts it again with the same arguments, on the same data: what it
    /// kept (sessions, the page's localStorage) is there again. Screenshots go on numbering.
    pub async fn restart(mut self) -> Desktop {
        let args = std::mem::take(&mut self.args);
        self.restart_with(args).await
    }

    /// [`Desktop::restart`] with other arguments (the same data: a session it recorded can be
    /// opened by path).
    pub async fn restart_with(mut self, args: Vec<String>) -> Desktop {
        let data_home = self.data_home.take().expect("the desktop's data");
        let env = std::mem::take(&mut self.env);
        let (size, shots, step) = (self.size, self.shots.clone(), self.step);
        self.close().await;
        Desktop::start(args, env, size, data_home, shots, step).await
    }

    async fn start(
        args: Vec<String>,
        env: Vec<(String, String)>,
        size: (u32, u32),
        data_home: TempDir,
        shots: PathBuf,
        step: u32,
    ) -> Desktop {
        let turn = ONE_AT_A_TIME.lock().await;
        let binary = PathBuf::from(env!("CARGO_BIN_EXE_tideline"));
        let display = free_display();
        let (width, height) = size;
        let xvfb = Command::new("Xvfb")
            .arg(format!(":{display}"))
            .args([
                "-screen",
                "0",
                &format!("{width}x{height}x24"),
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb runs (apt-get install xvfb)");
        wait_until("Xvfb", Duration::from_secs(10), || {
            Path::new(&format!("/tmp/.X11-unix/X{display}")).exists()
        });

        let port = free_port();
        let driver = Command::new("WebKitWebDriver")
            .arg(format!("--port={port}"))
            .env("DISPLAY", format!(":{display}"))
            .env("TAURI_WEBVIEW_AUTOMATION", "true")
            .env("XDG_DATA_HOME", data_home.path().join("data"))
            .env("XDG_CONFIG_HOME", data_home.path().join("config"))
            .env("XDG_CACHE_HOME", data_home.path().join("cache"))
            // No session bus: the app must say the keyring is unavailable and keep keys in memory.
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env("NO_AT_BRIDGE", "1")
            // The app chooses WebKit's compositing itself unless a test says otherwise.
            .env_remove(WEBKIT_DISABLE_COMPOSITING_MODE)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("WebKitWebDriver runs (apt-get install webkit2gtk-driver)");
        wait_until("WebKitWebDriver", Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });

        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "webkitgtk:browserOptions".into(),
            json!({"binary": binary, "args": args}),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a WebDriver session with the tideline binary");
        let desktop = Desktop {
            client,
            data_home: Some(data_home),
            args,
            env,
            size,
            shots,
            step,
            display,
            xvfb,
            driver,
            _turn: turn,
        };
        desktop.wait_for_load().await;
        if (width, height) != (1280, 800) {
            let _ = desktop.client.set_window_rect(0, 0, width, height).await;
        }
        desktop
    }

    async fn wait_for_load(&self) {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let state = self
                .client
                .execute("return document.readyState", vec![])
                .await;
            if matches!(state, Ok(Value::String(ref s)) if s == "complete") {
                return;
            }
            assert!(Instant::now() < deadline, "the page never finished loading");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Answers the app's native file dialog (GTK's, outside the page, so not reachable over
    /// WebDriver) as a user at the keyboard would: waits for the window whose title contains
    /// `title`, replaces the name with `path` and presses Enter (xdotool on this test's display).
    pub fn answer_file_dialog(&self, title: &str, path: &std::path::Path) {
        let xdotool = |args: &[&str]| {
            let output = Command::new("xdotool")
                .args(args)
                .env("DISPLAY", format!(":{}", self.display))
                .output()
                .expect("xdotool runs (apt-get install xdotool)");
            assert!(
                output.status.success(),
                "xdotool {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            String::from_utf8_lossy(&output.stdout).trim().to_owned()
        };
        let mut window = String::new();
        wait_until("the file dialog", STEP_TIMEOUT, || {
            window = Command::new("xdotool")
                .args(["search", "--name", title])
                .env("DISPLAY", format!(":{}", self.display))
                .output()
                .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
                .unwrap_or_default();
            !window.is_empty()
        });
        let window = window.lines().last().unwrap_or_default().to_owned();
        // The dialog takes keys once it is mapped and focused.
        std::thread::sleep(Duration::from_millis(800));
        // No window manager runs under Xvfb: focus the dialog directly, then type as the
        // keyboard does (XTEST), which GTK takes like a user's keys.
        xdotool(&["windowfocus", "--sync", &window]);
        xdotool(&["key", "ctrl+a"]);
        xdotool(&["type", "--delay", "5", &path.display().to_string()]);
        std::thread::sleep(Duration::from_millis(300));
        xdotool(&["key", "Return"]);
    }

    /// Drags the mouse across the element matching `css` from `from` to `to`, fractions of its
    /// width (0 = left edge, 1 = right edge), at its vertical middle: a user's press, move and
    /// release (WebDriver actions).
    pub async fn drag_across(&self, css: &str, from: f64, to: f64) {
        use fantoccini::actions::{MOUSE_BUTTON_LEFT, PointerAction};
        let element = self.find(css).await;
        let (_, _, width, _) = element.rectangle().await.expect("the element's box");
        let at = |fraction: f64| (fraction - 0.5) * width;
        let across = PointerAction::MoveToElement {
            element: element.clone(),
            duration: Some(Duration::from_millis(200)),
            x: at(to),
            y: 0.0,
        };
        self.mouse_press(css, element, at(from), MOUSE_BUTTON_LEFT, Some(across))
            .await;
    }

    /// A user's press on `element`, `x` px right of its middle, with `button`, then `moving`
    /// (if any) before the release: one WebDriver action sequence.
    async fn mouse_press(
        &self,
        css: &str,
        element: Element,
        x: f64,
        button: u64,
        moving: Option<fantoccini::actions::PointerAction>,
    ) {
        use fantoccini::actions::{InputSource, MouseActions, PointerAction};
        let mut actions = MouseActions::new("mouse".to_owned())
            .then(PointerAction::MoveToElement {
                element,
                duration: None,
                x,
                y: 0.0,
            })
            .then(PointerAction::Down { button });
        if let Some(moving) = moving {
            actions = actions.then(moving);
        }
        self.client
            .perform_actions(actions.then(PointerAction::Up { button }))
            .await
            .unwrap_or_else(|error| panic!("press on {css:?}: {error}"));
    }

    /// Presses `keys` (xdotool's names: `ctrl+w`) on the app's window as the keyboard does (XTEST
    /// on this test's display), so GTK's menu accelerators take them like a user's (WebDriver's
    /// keys go to the page only).
    pub fn press_on_window(&self, keys: &str) {
        let mut window = String::new();
        wait_until("the app's window", STEP_TIMEOUT, || {
            window = self.xdotool_output(&["search", "--name", "^Tideline$"]);
            !window.is_empty()
        });
        let window = window.lines().last().unwrap_or_default().to_owned();
        self.xdotool(&["windowfocus", "--sync", &window]);
        self.xdotool(&["key", "--clearmodifiers", keys]);
    }

    fn xdotool_output(&self, args: &[&str]) -> String {
        Command::new("xdotool")
            .args(args)
            .env("DISPLAY", format!(":{}", self.display))
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
            .unwrap_or_default()
    }

    fn xdotool(&self, args: &[&str]) {
        let output = Command::new("xdotool")
            .args(args)
            .env("DISPLAY", format!(":{}", self.display))
            .output()
            .expect("xdotool runs (apt-get install xdotool)");
        assert!(
            output.status.success(),
            "xdotool {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Presses `key` (a character, or a [`fantoccini::key::Key`] as char) on the focused element.
    pub async fn press(&self, key: char) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let keys = KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        self.client
            .perform_actions(keys)
            .await
            .unwrap_or_else(|error| panic!("key {key:?}: {error}"));
    }

    /// Right-clicks the middle of the element matching `css` (a context menu).
    pub async fn right_click(&self, css: &str) {
        let element = self.find(css).await;
        self.mouse_press(
            css,
            element,
            0.0,
            fantoccini::actions::MOUSE_BUTTON_RIGHT,
            None,
        )
        .await;
    }

    /// Drags the element matching `css` by `dx` px to the right (negative: left): a user's press,
    /// move and release on it.
    pub async fn drag_by(&self, css: &str, dx: f64) {
        use fantoccini::actions::{MOUSE_BUTTON_LEFT, PointerAction};
        let element = self.find(css).await;
        let moving = PointerAction::MoveBy {
            duration: Some(Duration::from_millis(200)),
            x: dx,
            y: 0.0,
        };
        self.mouse_press(css, element, 0.0, MOUSE_BUTTON_LEFT, Some(moving))
            .await;
    }

    /// Waits for an element matching `css`.
    pub async fn find(&self, css: &str) -> Element {
        self.find_within(css, STEP_TIMEOUT).await
    }

    pub async fn find_within(&self, css: &str, timeout: Duration) -> Element {
        self.client
            .wait()
            .at_most(timeout)
            .every(Duration::from_millis(100))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("no element {css:?} within {timeout:?}: {error}"))
    }

    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client.find_all(Locator::Css(css)).await.unwrap()
    }

    /// Waits until the text of `css` satisfies `check`, and returns it.
    pub async fn text_when(&self, css: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = self.text_of(element).await
            {
                if check(&text) {
                    return text;
                }
                assert!(Instant::now() < deadline, "{css:?} shows {text:?}");
            }
            assert!(Instant::now() < deadline, "no element {css:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The element's text content, whitespace collapsed. (WebKitWebDriver's own element text
    /// comes back empty for some styled elements.)
    pub async fn text_of(&self, element: Element) -> Result<String, fantoccini::error::CmdError> {
        let element = serde_json::to_value(element).unwrap();
        let text = self
            .client
            .execute("return arguments[0].textContent", vec![element])
            .await?;
        Ok(text
            .as_str()
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "))
    }

    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|error| panic!("click {css:?}: {error}"));
    }

    /// Scrolls `css` to the middle of its scroll container (for a screenshot of it).
    pub async fn scroll_to(&self, css: &str) {
        let element = self.find(css).await;
        let element = serde_json::to_value(element).unwrap();
        self.client
            .execute(
                "arguments[0].scrollIntoView({block: 'center'})",
                vec![element],
            )
            .await
            .unwrap();
    }

    /// Finds `asset_label`'s change `action` with the search box and selects it.
    pub async fn select_change(&self, asset_label: &str, action: &str) {
        self.type_into(r#"[data-testid="filter-text"]"#, asset_label)
            .await;
        self.click(&format!(
            r#"[data-testid="change-row"][data-asset-label="{asset_label}"][data-action="{action}"]"#
        ))
        .await;
    }

    /// The text of every change row the list has drawn.
    pub async fn row_texts(&self) -> Vec<String> {
        let rows = self
            .script(r#"return [...document.querySelectorAll('[data-testid="change-row"]')].map(r => r.textContent)"#)
            .await;
        rows.as_array()
            .map(|rows| {
                rows.iter()
                    .filter_map(|row| row.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        element.clear().await.unwrap();
        element.send_keys(text).await.unwrap();
    }

    /// Fills the start screen's "Record a new session" form and submits it.
    pub async fn connect_stream(&self, endpoint: &str, key: &str) {
        self.type_into(r#"[data-testid="connect-endpoint"]"#, endpoint)
            .await;
        self.type_into(r#"[data-testid="connect-key"]"#, key).await;
        self.click(r#"[data-testid="connect-submit"]"#).await;
    }

    /// Saves the test's screen as `NN-name.png`, a moment after the last change (WebKit repaints
    /// late): the pixels the X server shows, the window's GTK menu bar and any dialog included,
    /// read with [`capture_screen`]. WebDriver's Take Screenshot is not used: it waits for the
    /// page's next paint, which a still page without accelerated compositing (how the app runs,
    /// see `src-tauri/src/lib.rs`) does not make.
    pub async fn screenshot(&mut self, name: &str) -> PathBuf {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        self.step += 1;
        let path = self.shots.join(format!("{:02}-{name}.png", self.step));
        let display = self.display;
        let written = path.clone();
        let capture = tokio::task::spawn_blocking(move || capture_screen(display, &written));
        tokio::time::timeout(STEP_TIMEOUT, capture)
            .await
            .unwrap_or_else(|_| panic!("the X server of :{display} gave no screenshot"))
            .expect("the capture ran")
            .unwrap_or_else(|error| panic!("a screenshot of :{display}: {error}"));
        path
    }

    pub async fn script(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .expect("script runs")
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = self.xvfb.kill();
        let _ = self.xvfb.wait();
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.xvfb.kill();
    }
}

/// The seed incident (the demo's story) recorded with the CLI into a new folder, and the app
/// reviewing it (`--open`) with `env`: the folder (removed when dropped), the session's path,
/// the desktop.
pub async fn review_seed_incident(test: &str, env: &[(&str, &str)]) -> (TempDir, PathBuf, Desktop) {
    let dir = TempDir::new().unwrap();
    let session = dir.path().join("seed-incident.tideline");
    record_seed_scenario(&session).await;
    let desktop = Desktop::launch_with_env(test, &["--open", session.to_str().unwrap()], env).await;
    (dir, session, desktop)
}

/// Records the seed-incident scenario into `session` with `tideline-cli record`, over the real
/// SSE path from a stream server that is stopped afterwards; returns the server's old port.
pub async fn record_seed_scenario(session: &Path) -> u16 {
    const KEY: &str = "e2e-recording-key";
    // `cargo test --workspace` builds every binary of the workspace into the same folder.
    let cli = PathBuf::from(env!("CARGO_BIN_EXE_tideline")).with_file_name("tideline-cli");
    assert!(
        cli.exists(),
        "{} is missing: run the tests with `cargo test --workspace`",
        cli.display()
    );
    let config = eventstream_sim::SimConfig {
        retry_ms: 100,
        ..eventstream_sim::SimConfig::new(
            KEY,
            eventstream_sim::StreamSource::Scenario(eventstream_sim::Scenario::SeedIncident),
        )
    };
    let sim = eventstream_sim::start(config, 0)
        .await
        .expect("the stream server starts");
    let (port, url, session) = (sim.port(), sim.url(), session.to_owned());
    let recorded = tokio::task::spawn_blocking(move || {
        Command::new(cli)
            .args([
                "record",
                "--endpoint",
                &url,
                "--until-idle",
                "2",
                "--session",
            ])
            .arg(&session)
            .env("TIDELINE_API_KEY", KEY)
            .output()
            .expect("tideline-cli runs")
    })
    .await
    .unwrap();
    assert!(
        recorded.status.success(),
        "{}",
        String::from_utf8_lossy(&recorded.stderr)
    );
    sim.shutdown().await;
    port
}
