SHELL := /bin/bash
.DEFAULT_GOAL := help

# The Lambda runtime follows the Python that runs `chalice`: prefer 3.11 when it is installed.
PYTHON_BOOT ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed
PYTEST_WORKERS ?= 2
# Schemathesis examples per API operation, and stateful scenarios, in `make fuzz` (`make test` runs 12).
FUZZ_EXAMPLES ?= 500

.PHONY: help venv web chromium run token reports test test-quick fuzz demo bench load clean distclean

# The web client (web/static/, served by `chalice local` at /web/) loads two IVS SDKs from its own
# origin, both installed from npm by `make web` (pinned in web/package-lock.json): the real-time
# Web Broadcast SDK's browser bundle is copied next to the page; the Chat Messaging SDK ships only
# CommonJS / ES modules that import `uuid`, so esbuild (a pinned devDependency) bundles it into one
# ES module. The overflow listeners' HLS player, hls.js, ships a browser bundle (UMD, `window.Hls`)
# that is copied next to the page too. Nothing comes from a CDN.
WEB_SDK := web/static/amazon-ivs-web-broadcast.js
WEB_CHAT_SDK := web/static/amazon-ivs-chat-messaging.js
WEB_HLS := web/static/hls.min.js
WEB_NPM := web/node_modules/.spaces-installed
# The browser the end-to-end tests drive (tests/e2e): Debian's, as Playwright's own download
# cannot be fetched here.
CHROMIUM := /usr/bin/chromium

help:
	@echo "make venv                  create .venv and install requirements-dev.txt (only when they change)"
	@echo "make web                   install the web client's npm dependencies (IVS SDKs, hls.js) and put their bundles in web/static/"
	@echo "make chromium              install Debian's chromium for the browser tests (skipped when $(CHROMIUM) exists)"
	@echo "make run                   local stack: DynamoDB Local :8100, moto :5100, API on http://127.0.0.1:8000, web client on /web/"
	@echo "make token USER=<id>       print a bearer token for <id> (last line); works without the stack"
	@echo "make test                  every test, slow ones included ($(PYTEST_WORKERS) workers)"
	@echo "make test-quick            tests not marked slow"
	@echo "make fuzz                  contract fuzzing of openapi.yaml, long run: per operation ($(FUZZ_EXAMPLES) examples each) and stateful (as many linked scenarios)"
	@echo "make demo                  play a whole Space against the running stack"
	@echo "make reports ARGS=list     operators: open reports of the local stack (list | show SPACE | resolve SPACE TARGET REPORTER NOTE)"
	@echo "make bench                 run the benchmarks in bench/ (writes bench/results.json)"
	@echo "make load                  200 clients x 20 requests (join/leave/list) against a running make run (bench/load.py)"
	@echo "make synth                 synthesize the CDK stacks offline into cdk.out/ (dev and prod)"
	@echo "make deploy STAGE=dev      deploy a stage with the CDK CLI (needs AWS credentials; see docs/operations.md)"
	@echo "make destroy STAGE=dev     destroy a stage (refuses prod)"
	@echo "make clean                 remove caches and local logs; distclean also .venv and .local"

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt requirements-media.txt
	@if [ ! -x $(PY) ]; then \
	  [ -n "$(PYTHON_BOOT)" ] || { echo "python3 not found: install Python 3.11" >&2; exit 1; }; \
	  $(PYTHON_BOOT) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	    || { echo "$(PYTHON_BOOT) is older than 3.11: install Python 3.11" >&2; exit 1; }; \
	  echo "Creating $(VENV) with $(PYTHON_BOOT)"; \
	  $(PYTHON_BOOT) -m venv $(VENV); \
	fi
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

web: $(WEB_SDK) $(WEB_CHAT_SDK) $(WEB_HLS)

$(WEB_NPM): web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: apt-get install -y npm" >&2; exit 1; }
	cd web && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

$(WEB_SDK): $(WEB_NPM)
	cp web/node_modules/amazon-ivs-web-broadcast/dist/amazon-ivs-web-broadcast.js $@

$(WEB_HLS): $(WEB_NPM)
	cp web/node_modules/hls.js/dist/hls.min.js $@

$(WEB_CHAT_SDK): $(WEB_NPM)
	web/node_modules/.bin/esbuild web/node_modules/amazon-ivs-chat-messaging/dist/esm/index.js \
	  --bundle --format=esm --platform=browser --target=es2020 --legal-comments=eof --log-level=warning --outfile=$@

chromium:
	@if [ -x $(CHROMIUM) ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then echo "$(CHROMIUM) is missing: run 'apt-get install -y chromium' as root" >&2; exit 1; fi; \
	echo "Installing Debian's chromium for the browser tests"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

run: venv web
	$(PY) -m scripts.local_stack

# `make token USER=alice`. USER must come from the command line: the shell's $USER is the login name.
token: venv
	@if [ "$(origin USER)" != "command line" ] || [ -z "$(USER)" ]; then \
	  echo "usage: make token USER=<user id>" >&2; exit 2; fi
	@$(PY) -m scripts.keys token '$(USER)'

# Operators' reports CLI (scripts/reports.py) against the local stack's DynamoDB Local; in an AWS
# stage run `python -m scripts.reports` with that stage's SPACES_TABLE_PREFIX and credentials.
reports: venv
	@SPACES_TABLE_PREFIX=$${SPACES_TABLE_PREFIX:-spaces-local} AWS_ENDPOINT_URL_DYNAMODB=$${AWS_ENDPOINT_URL_DYNAMODB:-http://127.0.0.1:8100} \
	  AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-local} AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-local} \
	  AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(PY) -m scripts.reports $(or $(ARGS),list)

test: venv web chromium
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

test-quick: venv
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) -m "not slow" $(PYTEST_ARGS)

fuzz: venv
	SPACES_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(VENV)/bin/pytest -n $(PYTEST_WORKERS) tests/contract $(PYTEST_ARGS)

demo: venv
	@if [ ! -f scripts/demo.py ]; then echo "scripts/demo.py does not exist yet" >&2; exit 1; fi
	$(PY) -m scripts.demo

bench: venv
	@if [ ! -f bench/__main__.py ]; then echo "bench/__main__.py does not exist yet: nothing to run" >&2; exit 1; fi
	$(PY) -m bench

# Against a running `make run` (another terminal); loopback only, bounded. LOAD_ARGS e.g.
# "--clients 50 --base-url http://127.0.0.1:8000".
load: venv
	$(PY) -m bench.load $(LOAD_ARGS)

clean:
	find . -path ./$(VENV) -prune -o -path ./.local -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	rm -rf .pytest_cache .local/logs cdk.out

distclean: clean
	rm -rf $(VENV) .local web/node_modules $(WEB_SDK) $(WEB_CHAT_SDK) $(WEB_HLS)

# ---------------------------------------------------------------------------------------------
# Infrastructure (infra/, docs/operations.md). `make synth` needs no AWS account: it writes the
# CloudFormation templates of every stage to cdk.out/. deploy and destroy run the CDK CLI from
# npm, pinned (3.x cannot read this cloud-assembly schema); infra.preflight checks credentials,
# the one-time inputs and refuses to destroy prod before the CLI runs.
.PHONY: synth deploy destroy
STAGE ?= dev
CDK_CLI := npx --yes aws-cdk@2.1148.1
CDK_ENV := JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1 JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20

synth: venv
	$(CDK_ENV) $(PY) infra/app.py

# The edge stack (us-east-1: CloudFront's WAF web ACL, infra/waf.py) goes first; the stage's stack
# takes its ACL's ARN as the WebAclArn parameter.
deploy: venv web
	@$(PY) -m infra.preflight deploy $(STAGE)
	$(CDK_ENV) $(CDK_CLI) deploy --app "$(PY) infra/app.py" --context stage=$(STAGE) --require-approval broadening $(STAGE)-edge
	$(CDK_ENV) $(CDK_CLI) deploy --app "$(PY) infra/app.py" --context stage=$(STAGE) --require-approval broadening \
	  --parameters $(STAGE):WebAclArn=$$($(PY) -m infra.waf $(STAGE)) $(STAGE)
	$(PY) -m infra.publish_web --stage $(STAGE)

destroy: venv
	@$(PY) -m infra.preflight destroy $(STAGE)
	$(PY) -m infra.publish_web --stage $(STAGE) --empty
	$(CDK_ENV) $(CDK_CLI) destroy --app "$(PY) infra/app.py" --context stage=$(STAGE) $(STAGE)
	$(CDK_ENV) $(CDK_CLI) destroy --app "$(PY) infra/app.py" --context stage=$(STAGE) $(STAGE)-edge
