#!/usr/bin/env bash
# Regenerates data_manifests/*.json from the MedleyDB metadata (V1 + V2, the public release).
#   scripts/make_manifests.sh [medleydb-metadata-dir] [build-dir]
# Defaults: ../shared/medleydb beside the checkout, and build/. The test
# CommittedManifests.MatchTheMedleyDBMetadata fails when the committed files are stale.
set -euo pipefail
cd "$(dirname "$0")/.."
medleydb=${1:-../shared/medleydb}
build=${2:-build}
tool=$build/tools/make_manifests
[[ -x $tool ]] || { echo "error: $tool not found; build the target unmix-make_manifests first" >&2; exit 1; }

common=(--metadata "$medleydb/metadata" --tracklist "$medleydb/tracklist_v1.txt" --tracklist "$medleydb/tracklist_v2.txt"
        --artist-index "$medleydb/artist_index.json" --valid 0.15 --test 0.15 --seed 42 --bleed train-only
        --source "MedleyDB 1.0 + 2.0 metadata (marl/medleydb 537bb7b), artist groups from artist_index.json")

"$tool" "${common[@]}" --name acoustic_guitar --target "acoustic guitar" --out data_manifests/acoustic_guitar.json
"$tool" "${common[@]}" --name clean_electric_guitar --target "clean electric guitar" \
  --out data_manifests/clean_electric_guitar.json
# Every guitar label of MedleyDB's taxonomy (slide guitar is in the taxonomy but on no V1/V2 stem).
"$tool" "${common[@]}" --name any_guitar --target "acoustic guitar" --target "clean electric guitar" \
  --target "distorted electric guitar" --target "lap steel guitar" --target "slide guitar" \
  --out data_manifests/any_guitar.json
