#!/usr/bin/env bash
# The shipped guitar model, from nothing but this repository (docs/model.md):
#   1. a training corpus from the realistic generator (300 songs x 30 s, TimGM6mb and FluidR3_GM fonts),
#   2. its guitar manifest (every guitar stem is the target, all else the residual) and training cache,
#   3. openunmix's training loop with models/default/recipe.json (CPU, or the GPU when there is one),
#   4. the held-out corpus (20 songs, another seed and a font training never saw) and its evaluation next
#      to the IRM1 oracle and the mixture,
#   5. with --ship: the best model exported to models/default/ in float16 storage.
# Every stage resumes: rerun the same command after an interruption (the training continues exactly).
#
#   scripts/train-default.sh [--out DIR] [--ship] [--device cpu|cuda|auto] [--epochs N]
set -euo pipefail
cd "$(dirname "$0")/.."
out=runs/default
ship=0
device=auto
epochs=
while (($#)); do
  case $1 in
    --out) out=$2; shift 2 ;;
    --ship) ship=1; shift ;;
    --device) device=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    *) echo "usage: $0 [--out DIR] [--ship] [--device cpu|cuda|auto] [--epochs N]" >&2; exit 2 ;;
  esac
done

scripts/install-deps.sh
# The fonts: two for training, a third that training never sees for the held-out songs.
fonts=(fluid-soundfont-gm musescore-general-soundfont-small)
missing=()
for p in "${fonts[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if ((${#missing[@]})); then
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
train_fonts=(--soundfont /usr/share/sounds/sf2/TimGM6mb.sf2 --soundfont /usr/share/sounds/sf2/FluidR3_GM.sf2)
test_font=(--soundfont /usr/share/sounds/sf3/MuseScore_General_Lite.sf3)

export PATH=/usr/local/cuda/bin:$PATH
if [[ ! -x build/tools/train ]]; then
  cmake --preset default >/dev/null
  cmake --build --preset default --target unmix-synthesize unmix-make_manifests unmix-train unmix-separate \
    unmix-evaluate unmix-export_model
fi
mkdir -p "$out"

guitars=(--target "acoustic guitar" --target "clean electric guitar" --target "distorted electric guitar")
[[ -f $out/corpus/.complete ]] || {
  build/tools/synthesize --out "$out/corpus" --songs 300 --seconds 30 --seed 1 "${train_fonts[@]}" --resume
  touch "$out/corpus/.complete"
}
[[ -f $out/guitar.json ]] ||
  build/tools/make_manifests --root "$out/corpus" --name guitar "${guitars[@]}" --valid 0.1 --test 0 --seed 1 \
    --source "scripts/train-default.sh: synthesize --songs 300 --seconds 30 --seed 1, TimGM6mb + FluidR3_GM" \
    --out "$out/guitar.json"

# An unfinished run ships in models/default/training/ (its checkpoint, history and best model so far): a fresh
# machine continues it exactly (the corpus and cache above are the same by seed) instead of starting over.
if [[ ! -f $out/model/checkpoint.safetensors && -f models/default/training/checkpoint.safetensors ]]; then
  mkdir -p "$out/model"
  cp models/default/training/* "$out/model/"
fi
if [[ -f $out/model/checkpoint.safetensors ]]; then
  build/tools/train --resume "$out/model" --root "$out/corpus" --manifest "$out/guitar.json" --cache "$out/cache" \
    --device "$device" ${epochs:+--epochs "$epochs"}
else
  build/tools/train --config models/default/recipe.json --root "$out/corpus" --manifest "$out/guitar.json" \
    --cache "$out/cache" --output "$out/model" --device "$device" ${epochs:+--epochs "$epochs"}
fi

# Held out: another seed (other artists and songs) and a font training never saw.
[[ -f $out/heldout/.complete ]] || {
  build/tools/synthesize --out "$out/heldout" --songs 20 --seconds 30 --seed 2 "${test_font[@]}" --resume
  touch "$out/heldout/.complete"
}
[[ -f $out/heldout.json ]] ||
  build/tools/make_manifests --root "$out/heldout" --name guitar "${guitars[@]}" --valid 0 --test 0 --seed 2 \
    --out "$out/heldout.json"
rm -rf "$out/separated"
mkdir -p "$out/separated"
while read -r mix; do
  track=$(basename "$(dirname "$mix")")
  build/tools/separate --model "$out/model" --targets guitar --outdir "$out/separated" "$mix"
  mv "$out/separated/$(basename "${mix%.wav}")" "$out/separated/$track"
done < <(find "$out/heldout" -name '*_MIX.wav' | sort)
build/tools/evaluate --root "$out/heldout" --manifest "$out/heldout.json" --split all \
  --estimates UMX="$out/separated" --oracle IRM1,Mixture --out "$out/eval"
cat "$out/eval/summary.csv"

if ((ship)); then
  build/tools/export_model --model "$out/model" --target guitar --out models/default --f16
  cp "$out/model/loss.svg" docs/model-loss.svg
  echo "shipped: models/default/guitar.{json,safetensors}"
fi
