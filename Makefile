# The README's two commands. Both install what is missing first (scripts/install-deps).
.PHONY: deps ui demo test

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
# in ONE cargo invocation (engine, CLI end-to-end, stream server, shell, desktop end-to-end).
test: ui
	cd ui && npm run check && npm test
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --quiet -- -D warnings
	cargo test --workspace
