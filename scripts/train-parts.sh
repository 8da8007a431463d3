#!/usr/bin/env bash
# Guitar-part models with the shipped model's recipe (models/default/recipe.json) on the same generated
# corpus as scripts/train-default.sh: one model per part, each part's stems the target and every other
# stem (the other guitars too) the rest; then held-out songs separated with each model next to IRM1.
#   scripts/train-parts.sh [--out DIR] [--parts lead,rhythm,acoustic,electric] [--device cpu|cuda|auto]
#                          [--epochs N] [--from-scratch] [--ship]
# A new part's run fine-tunes the shipped guitar model (train --model models/default/guitar.json): it knows
# guitars already and has only to learn which of them to keep; --from-scratch starts from random weights
# and the part's own statistics instead.
# Parts: lead, rhythm (--guitar-role) and acoustic, electric (--guitar-kind); the models are named
# <part>_guitar. Every stage resumes; --ship exports the models next to models/default/guitar.*.
set -euo pipefail
cd "$(dirname "$0")/.."
out=runs/default
parts=lead,rhythm
device=auto
epochs=
ship=0
start=(--model models/default/guitar.json)
while (($#)); do
  case $1 in
    --out) out=$2; shift 2 ;;
    --parts) parts=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --from-scratch) start=(); shift ;;
    --ship) ship=1; shift ;;
    *) echo "usage: $0 [--out DIR] [--parts lead,rhythm,acoustic,electric] [--device D] [--epochs N] [--from-scratch] [--ship]" >&2; exit 2 ;;
  esac
done
export PATH=/usr/local/cuda/bin:$PATH
cmake --preset default >/dev/null
cmake --build --preset default --target unmix-synthesize unmix-make_manifests unmix-train unmix-separate \
  unmix-evaluate unmix-export_model
# The corpora of scripts/train-default.sh (same seeds and fonts), made here when that script has not run.
train_fonts=(--soundfont /usr/share/sounds/sf2/TimGM6mb.sf2 --soundfont /usr/share/sounds/sf2/FluidR3_GM.sf2)
test_font=(--soundfont /usr/share/sounds/sf3/MuseScore_General_Lite.sf3)
mkdir -p "$out"
[[ -f $out/corpus/.complete ]] || {
  build/tools/synthesize --out "$out/corpus" --songs 300 --seconds 30 --seed 1 "${train_fonts[@]}" --resume
  touch "$out/corpus/.complete"
}
# The parts' held-out songs: a part plays in only some songs (a lead in about 2 of 5), so 60 songs with
# the held-out font and a seed of their own give each part enough of them.
[[ -f $out/heldout-parts/.complete ]] || {
  build/tools/synthesize --out "$out/heldout-parts" --songs 60 --seconds 30 --seed 3 "${test_font[@]}" --resume
  touch "$out/heldout-parts/.complete"
}

IFS=, read -r -a part_list <<< "$parts"
for part in "${part_list[@]}"; do
  case $part in
    lead | rhythm) select=(--guitar-role "$part") ;;
    acoustic | electric) select=(--guitar-kind "$part") ;;
    *) echo "unknown part '$part' (lead, rhythm, acoustic, electric)" >&2; exit 2 ;;
  esac
  name=${part}_guitar
  [[ -f $out/$name.json ]] ||
    build/tools/make_manifests --root "$out/corpus" "${select[@]}" --name "$name" --valid 0.1 --test 0 --seed 1 \
      --source "scripts/train-parts.sh: synthesize --songs 300 --seconds 30 --seed 1, TimGM6mb + FluidR3_GM" \
      --out "$out/$name.json"
  # An unfinished part's run ships in models/default/training-<part>_guitar/, as the main model's does.
  if [[ ! -f $out/$name/checkpoint.safetensors && -f models/default/training-$name/checkpoint.safetensors ]]; then
    mkdir -p "$out/$name"
    cp models/default/training-"$name"/* "$out/$name/"
  fi
  if [[ -f $out/$name/checkpoint.safetensors ]]; then
    build/tools/train --resume "$out/$name" --root "$out/corpus" --manifest "$out/$name.json" --cache "$out/cache-$name" \
      --device "$device" ${epochs:+--epochs "$epochs"}
  else
    build/tools/train --config models/default/recipe.json --root "$out/corpus" --manifest "$out/$name.json" \
      --target "$name" --cache "$out/cache-$name" --output "$out/$name" --device "$device" ${epochs:+--epochs "$epochs"} \
      "${start[@]}"
  fi
  # Held out: each part on its own (target + residual, the layout tools/evaluate scores) in the songs where
  # it plays, next to IRM1. A part rests for whole sections, and a resting stem still carries reverb and
  # amp tails at -80 to -230 dBFS; museval scores those seconds (SDR of -70 dB even for the mixture), so
  # frames where the part is below -60 dBFS count as silent, as museval treats digital silence.
  [[ -f $out/heldout-parts-$name.json ]] ||
    build/tools/make_manifests --root "$out/heldout-parts" "${select[@]}" --name "$name" --valid 0 --test 0 --seed 3 \
      --out "$out/heldout-parts-$name.json"
  rm -rf "$out/separated-$name"
  mkdir -p "$out/separated-$name"
  while read -r mix; do
    track=$(dirname "$mix")
    build/tools/separate --model "$out/$name" --targets "$name" --residual --outdir "$out/separated-$name" \
      "$out/heldout-parts/$mix"
    mv "$out/separated-$name/${track}_MIX" "$out/separated-$name/$track"
  done < <(grep -o '"mix": "[^"]*"' "$out/heldout-parts-$name.json" | cut -d'"' -f4)
  build/tools/evaluate --root "$out/heldout-parts" --manifest "$out/heldout-parts-$name.json" --split all \
    --target "$name" --estimates UMX="$out/separated-$name" --oracle IRM1,Mixture --silence-db -60 \
    --out "$out/eval-$name"
  echo "$name:"
  cat "$out/eval-$name/summary.csv"
  if ((ship)); then
    build/tools/export_model --model "$out/$name" --target "$name" --out models/default --f16
    echo "shipped: models/default/$name.{json,safetensors}"
  fi
done
