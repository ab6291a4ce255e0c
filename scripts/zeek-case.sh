#!/bin/sh
# Runs connwatch on one conformance case the way Zeek ran it; used as
# `conn-diff --suite DIR --run scripts/zeek-case.sh`. conn-diff sets CASE_*;
# CONNWATCH names the binary (default: target/release/connwatch).
# Zeek's bare mode (`-b` plus a list of scripts) is mapped onto the
# settings zeek.bare and zeek.scripts, which decide the likely server ports,
# which protocol analyzers (and their timers) exist, and which service
# detectors run (base/protocols/http loads the HTTP one, and so on).
set -eu
bin=${CONNWATCH:-target/release/connwatch}
bare=$(python3 -c 'import json,sys; print(str(json.load(open(sys.argv[1])).get("bare", False)).lower())' "$CASE_JSON")
scripts=$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])).get("scripts", [])))' "$CASE_JSON")
# shellcheck disable=SC2086
exec "$bin" $CASE_FLAGS -r "$CASE_TRACE" --logdir "$CASE_OUT" \
    --set "zeek.bare=$bare" --set "zeek.scripts=$scripts"
