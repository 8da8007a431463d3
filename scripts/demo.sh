#!/usr/bin/env bash
# The main job on the embedded default: builds the commands, renders a 30 s song no model has heard (a new
# seed, and a soundfont the shipped model was not trained with), separates it with the shipped guitar model
# (models/default, found without --model) into guitar and residual, and prints its BSSEval v4 SDR next to
# the IRM1 oracle and the unprocessed mixture. Outputs in ./demo-song/. Under two minutes once built.
#   scripts/demo.sh [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${1:-77}
scripts/install-deps.sh
if ! dpkg-query -W -f='${Status}' musescore-general-soundfont-small 2>/dev/null | grep -q "install ok installed"; then
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends musescore-general-soundfont-small
fi
export PATH=/usr/local/cuda/bin:$PATH
cmake --preset default >/dev/null
cmake --build --preset default --target unmix-synthesize unmix-make_manifests unmix-separate unmix-evaluate
out=demo-song
rm -rf "$out"
mkdir -p "$out"
start=$SECONDS
build/tools/synthesize --out "$out/corpus" --songs 1 --seconds 30 --seed "$seed" \
  --soundfont /usr/share/sounds/sf3/MuseScore_General_Lite.sf3 2> "$out/synthesize.log" >/dev/null
build/tools/make_manifests --root "$out/corpus" --name guitar --target "acoustic guitar" \
  --target "clean electric guitar" --target "distorted electric guitar" --valid 0 --test 0 --out "$out/guitar.json" >/dev/null
mix=$(find "$out/corpus" -name '*_MIX.wav' | head -1)
track=$(basename "$(dirname "$mix")")
echo "song: $track ($(grep -m1 'style:' "$(dirname "$mix")"/*_METADATA.yaml | sed 's/ *style: //') style, 30 s)"
build/tools/separate --outdir "$out/separated" "$mix"
mv "$out/separated/$(basename "${mix%.wav}")" "$out/separated/$track"
build/tools/evaluate --root "$out/corpus" --manifest "$out/guitar.json" --split all --estimates UMX="$out/separated" \
  --oracle IRM1,Mixture --out "$out/eval" --quiet > "$out/evaluate.log"
echo
echo "separated: $out/separated/$track/{guitar,residual}.wav ($((SECONDS - start)) s); BSSEval v4 medians, dB:"
awk -F, 'NR > 1 && $3 == "SDR" { printf "  %-8s %-9s SDR %6.2f\n", $1, $2, $4 }' "$out/eval/summary.csv"
