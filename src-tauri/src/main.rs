// The desktop app's entry point; everything lives in the shell library.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    tideline_shell::run();
}
