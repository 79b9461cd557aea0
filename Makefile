# The two commands of the README. Both install what is missing first.
.PHONY: demo test deps

deps:
	scripts/install-deps

demo: deps
	scripts/demo

# Formatting and lints first (fast), then every test of the workspace in one cargo invocation.
test: deps
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --quiet -- -D warnings
	cargo test --workspace
