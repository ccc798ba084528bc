# The two commands a newcomer needs: `make run` and `make test`.
.PHONY: run test bench lint install

install:
	scripts/bootstrap.sh

run: install
	.venv/bin/smsstreams serve

test:
	scripts/test.sh

bench: install
	.venv/bin/python -m bench

lint: install
	.venv/bin/ruff check src tests bench
	.venv/bin/ruff format --check src tests bench
	.venv/bin/mypy
