# zdt-operator: one entry point for the README's commands. `make help` lists the targets.
SHELL := /bin/bash
CLUSTER := e2e/cluster/zdt-cluster

.PHONY: help demo test unit helper-test analysis-test crds build image push install uninstall up down drills pod-start scale readme

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

demo: ## the main job: local cluster, operator via helm, demo app, a rollout under load, the result
	e2e/demo.sh

test: ## every test: analysis checks, unit, API-server integration, chart, cluster smoke, helm install, rollout proof
	e2e/test.sh

analysis-test: ## the rollout proof's and the drills' pass criteria, each failing on recorded test data (no cluster)
	python3 -m unittest discover -s e2e -p 'test_*.py'

unit: ## unit and API-server tests only (needs `$(CLUSTER) build api` once; Envoy for EnvoyGateTest from PyPI)
	$(CLUSTER) build api
	$(CLUSTER) build envoy
	./mvnw -B verify

helper-test: ## vet and test the preStop helper (src/main/go/zdt-drain), about 15 s
	cd src/main/go/zdt-drain && go vet ./... && go test -count=1 ./...

crds: ## copy the CRDs generated from the Java model to deploy/crds and the chart
	./mvnw -B -q package -DskipTests
	cp target/kubernetes/zerodowntimeapps.zdt.dev-v1.yml target/kubernetes/drainpolicies.zdt.dev-v1.yml deploy/crds/
	cp target/kubernetes/zerodowntimeapps.zdt.dev-v1.yml target/kubernetes/drainpolicies.zdt.dev-v1.yml deploy/helm/zdt-operator/crds/

drills: ## failure drills under load on the local cluster (operator, Traefik API, API server down; evictions)
	e2e/drills/run.sh

pod-start: ## what the drain helper's init container adds to a pod's start (exec vs gate mode, on the local cluster)
	e2e/pod-start/run.sh

scale: ## scale benchmark: 100/300/1,000 apps x 10 KWOK pods on an API server of its own (SCALE_ARGS="--sizes 20 --idle 60" for a quick run)
	e2e/scale/run.sh $(SCALE_ARGS)

readme: ## rewrite the result blocks of README.md and docs/*.md from the committed files in e2e/results
	python3 -m e2e.readme_results

image: ## build the operator and import its image into the local cluster's containerd
	e2e/operator/image.sh

push: ## build the operator and drain helper images and push them to REGISTRY=host[:port][/path] (default: the local cluster's localhost:5000); prints the helm install
	e2e/operator/push.sh $(REGISTRY)

install: ## helm install (or upgrade) the operator into the local cluster
	e2e/operator/install.sh

uninstall: ## helm uninstall the operator (the CRD and the apps stay)
	e2e/operator/install.sh --uninstall

up: ## start the local single-node cluster
	$(CLUSTER) up

down: ## stop the local cluster and clean up after it
	$(CLUSTER) down
