# Sigil: the first two targets are all a fresh machine needs (see README).
.PHONY: demo test dev bench bench-process sim scale fuzz-smoke down fmt lint package lint-infra

demo: ## Run the main job end to end on the local stack, then stop
	scripts/demo

test: ## fmt, clippy, unit and end-to-end tests (starts and stops the local stack)
	scripts/test

dev: ## Start the local stack and the functions, and stay up
	scripts/dev

bench: ## Criterion benchmarks (in-memory ports)
	cargo bench -p sigil

SEEDS ?= 100000
sim: ## Deterministic simulation: SEEDS schedules (default 100000); replay one with cargo run -p sigil-sim -- --seed N
	cargo run --release -p sigil-sim -- --seeds $(SEEDS)

scale: ## Revocations at scale on the local stack (20,000-lease revoke-prefix, a token with 1,000 IAM-user leases, a token with 10,000 children); minutes, not in make test
	scripts/scale

bench-process: ## Process CPU per request of the release functions under a local Lambda Runtime API, side by side with OpenBao (minutes; not in make test)
	scripts/bench-process

fuzz-smoke: ## cargo-fuzz targets, each for a short bounded time (SIGIL_FUZZ_SECONDS, default 30)
	scripts/fuzz-smoke

package: ## Release arm64 Lambda zips of every function (cargo lambda), sizes checked
	scripts/package

lint-infra: ## cfn-lint and checkov on infra/template.yaml (part of make test)
	scripts/lint-infra

down: ## Stop everything the local scripts started
	localstack/down

fmt:
	cargo fmt --all

lint:
	cargo clippy --workspace --all-targets -- -D warnings
