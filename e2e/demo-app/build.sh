#!/usr/bin/env bash
# Builds target/demo-app.jar (the image build must stay fast and offline).
exec "$(dirname "$0")/../lib/jdk-jar.sh" "$(dirname "$0")" demo-app.jar dev.zdt.demo.DemoApp
