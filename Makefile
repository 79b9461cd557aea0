# The README's two commands. Both install what is missing first (scripts/install-deps).
.PHONY: deps ui demo test package package-test

deps:
	scripts/install-deps

# The page is embedded into the binary at compile time, so it is built before cargo runs.
ui: deps
	cd ui && npm run build

# Opens the desktop app on the built-in demo stream.
demo: ui
	cargo build --workspace
	target/debug/tideline --demo

# Every test: the UI's type check and unit tests, formatting and lints, then the whole workspace
# in ONE cargo invocation (engine, CLI end-to-end, stream server, shell, desktop end-to-end),
# then the Debian package built and installed into an empty root (package-test). Every test
# binary runs even after one fails, so a run names all of its failures.
test: ui
	cd ui && npm run check && npm test
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --quiet -- -D warnings
	cargo test --workspace --no-fail-fast
	$(MAKE) package-test

# The Debian package: the Tauri CLI (ui/'s devDependency) builds the page, the release binary and
# the .deb; the last line is the .deb's path (cargo's target directory: target/ or CARGO_TARGET_DIR).
# The installed binary carries no debug info (the release profile keeps line tables for profiling).
package: deps
	CARGO_PROFILE_RELEASE_STRIP=debuginfo ui/node_modules/.bin/tauri build --bundles deb
	@packaging/built-deb

# Installs that .deb into an empty root and checks the binary, the menu entry and the session type.
package-test: package
	tests/package/check-deb "$$(packaging/built-deb)"
