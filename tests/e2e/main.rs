//! End-to-end tests of the desktop app: the real `tideline` binary under Xvfb, driven over
//! WebDriver. Screenshots of each step land in `target/e2e-screenshots/<test>/`.

mod asset_state;
mod auditlog;
mod bench_live;
mod close_and_drafts;
mod diff_layout;
mod exports;
mod faults;
mod findings;
mod forwarding;
mod harness;
mod hostile;
mod incident;
mod layout;
mod live_tail;
mod local_time;
mod offline;
mod principals;
mod recent;
mod rendering;
mod search;
