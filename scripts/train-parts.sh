#!/usr/bin/env bash
# Guitar-part models with the shipped model's recipe (models/default/recipe.json) on the same generated
# corpus as scripts/train-default.sh: one model per part, each part's stems the target and every other
# stem (the other guitars too) the rest; then the held-out songs separated with each model next to IRM1.
#   scripts/train-parts.sh [--out DIR] [--parts lead,rhythm,acoustic,electric] [--device cpu|cuda|auto]
#                          [--epochs N] [--ship]
# Parts: lead, rhythm (--guitar-role) and acoustic, electric (--guitar-kind); the models are named
# <part>_guitar. Every stage resumes; --ship exports the models next to models/default/guitar.*.
set -euo pipefail
cd "$(dirname "$0")/.."
out=runs/default
parts=lead,rhythm
device=auto
epochs=
ship=0
while (($#)); do
  case $1 in
    --out) out=$2; shift 2 ;;
    --parts) parts=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --ship) ship=1; shift ;;
    *) echo "usage: $0 [--out DIR] [--parts lead,rhythm,acoustic,electric] [--device D] [--epochs N] [--ship]" >&2; exit 2 ;;
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
[[ -f $out/heldout/.complete ]] || {
  build/tools/synthesize --out "$out/heldout" --songs 20 --seconds 30 --seed 2 "${test_font[@]}" --resume
  touch "$out/heldout/.complete"
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
      --target "$name" --cache "$out/cache-$name" --output "$out/$name" --device "$device" ${epochs:+--epochs "$epochs"}
  fi
  # Held out: each part on its own (target + residual, the layout tools/evaluate scores), next to IRM1.
  [[ -f $out/heldout-$name.json ]] ||
    build/tools/make_manifests --root "$out/heldout" "${select[@]}" --name "$name" --valid 0 --test 0 --seed 2 \
      --out "$out/heldout-$name.json"
  rm -rf "$out/separated-$name"
  mkdir -p "$out/separated-$name"
  while read -r mix; do
    track=$(basename "$(dirname "$mix")")
    build/tools/separate --model "$out/$name" --targets "$name" --residual --outdir "$out/separated-$name" "$mix"
    mv "$out/separated-$name/$(basename "${mix%.wav}")" "$out/separated-$name/$track"
  done < <(find "$out/heldout" -name '*_MIX.wav' | sort)
  build/tools/evaluate --root "$out/heldout" --manifest "$out/heldout-$name.json" --split all --target "$name" \
    --estimates UMX="$out/separated-$name" --oracle IRM1,Mixture --out "$out/eval-$name"
  echo "$name:"
  cat "$out/eval-$name/summary.csv"
  if ((ship)); then
    build/tools/export_model --model "$out/$name" --target "$name" --out models/default --f16
    echo "shipped: models/default/$name.{json,safetensors}"
  fi
done
