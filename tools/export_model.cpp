// export_model: copies a trained model directory's target into another model directory, optionally with
// half-precision weight storage (how models/default/ is shipped), keeping the training summary.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "unmix/error.h"
#include "unmix/model_dir.h"
#include "unmix/limits.h"

int main(int argc, char** argv) {
  unmix::exit_cleanly_on_terminate("export_model");
  CLI::App app{"Export a model: <model>/<target>.{json,safetensors} -> <out>/<target>.{json,safetensors} and "
               "separator.json, the training summary kept; --f16 stores the weights as float16 where they fit "
               "(half the size; computed in float32 when loaded)."};
  std::string model, target, out, name;
  bool f16 = false;
  app.add_option("--model", model, "model directory to read")->required();
  app.add_option("--target", target, "target to export (the <target>.json / .safetensors pair)")->required();
  app.add_option("--out", out, "model directory to write (created if missing)")->required();
  app.add_option("--name", name, "target name in the output (default: the same)");
  app.add_flag("--f16", f16, "store the weights as float16 where the values fit");
  CLI11_PARSE(app, argc, argv);
  try {
    const unmix::UmxWeights weights = unmix::load_model(model, target);
    std::ifstream summary(unmix::model_json_path(model, target));
    std::stringstream text;
    text << summary.rdbuf();
    unmix::save_model(out, name.empty() ? target : name, weights, text.str(),
                      f16 ? unmix::WeightStorage::F16 : unmix::WeightStorage::F32);
    std::fprintf(stderr, "export_model: wrote %s/%s.safetensors (%s)\n", out.c_str(), (name.empty() ? target : name).c_str(),
                 f16 ? "float16 storage" : "float32");
    return 0;
  } catch (...) {  // unmix::Error ("<file>: <problem>"), a filesystem error, out of memory
    return unmix::report_exception("export_model");
  }
}
