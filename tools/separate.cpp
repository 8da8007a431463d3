// separate: any audio file in, the target sources (the guitar, ...) and the rest out.
// The command line of openunmix's `umx`, on the CPU or the GPU; see docs/separate.md.
#include <CLI/CLI.hpp>
#include <omp.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <set>

#include "unmix/stop_signal.h"
#include "unmix/audio.h"
#include "unmix/error.h"
#include "unmix/separator.h"
#include "unmix/limits.h"

using namespace unmix;

namespace {

std::atomic<bool>& g_stop = unmix::stop_flag();

constexpr double kProgressAbove = 5.0;  // seconds of audio above which a progress bar is drawn

// Progress bar on a terminal, a line per tenth otherwise (logs).
class ProgressBar {
 public:
  ProgressBar(std::string label, bool enabled)
      : label_(std::move(label)), enabled_(enabled), tty_(::isatty(STDERR_FILENO) != 0),
        start_(std::chrono::steady_clock::now()) {}
  bool update(double fraction) {
    if (g_stop) return false;
    if (!enabled_) return true;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0;
    const int percent = static_cast<int>(fraction * 100 + 0.5);
    if (tty_) {
      constexpr int width = 30;
      const int filled = static_cast<int>(fraction * width + 0.5);
      std::fprintf(stderr, "\r  %s [%s%s] %3d%%  ETA %4.0f s ", label_.c_str(), std::string(filled, '#').c_str(),
                   std::string(width - filled, '.').c_str(), percent, eta);
      if (fraction >= 1) std::fprintf(stderr, "\n");
    } else if (percent / 10 > last_tenth_) {
      last_tenth_ = percent / 10;
      std::fprintf(stderr, "  %s %3d%%  ETA %.0f s\n", label_.c_str(), percent, eta);
    }
    std::fflush(stderr);
    return true;
  }

 private:
  std::string label_;
  bool enabled_, tty_;
  int last_tenth_ = 0;
  std::chrono::steady_clock::time_point start_;
};

constexpr const char* kNoModel =
    "no model: pass --model DIR (a folder with <target>.json + <target>.safetensors) or set UNMIX_MODEL_DIR; "
    "get one by converting an openunmix model (scripts/convert_openunmix.py --pth guitar.pth --json guitar.json "
    "--out DIR) or by training the demo model (build/tools/demo writes demo-out/model)";

}  // namespace

int main(int argc, char** argv) {
  unmix::exit_cleanly_on_terminate("separate");
  CLI::App app{
      "separate: split songs into target sources (e.g. the guitar) and the rest with an Open-Unmix model.\n"
      "Each FILE (WAV, FLAC, OGG, Opus, MP3) is resampled to the model's rate, separated, resampled back and\n"
      "written as <outdir>/<file stem>/<source>.<ext>, one file per target plus residual.<ext> (everything\n"
      "but the targets) when the residual is on. Mono files give mono sources, stereo files stereo ones."};
  app.footer(
      "Model: --model DIR, else $UNMIX_MODEL_DIR, else models/default (in the working directory or the source\n"
      "tree). A model folder is openunmix's layout with safetensors weights; scripts/convert_openunmix.py converts\n"
      "openunmix .pth models, build/tools/demo trains a small one.\n"
      "Long files are processed in chunks, so memory stays bounded (about 0.9 GB for a 10-minute stereo song\n"
      "with a default-size model, most of it the audio itself).\n"
      "Ctrl-C stops after the current chunk; files being written are never left half-written.\n"
      "Exit status: 0 when every file was separated, 1 when any failed (each failure is reported and the\n"
      "remaining files are still processed), 130 when interrupted.");
  std::vector<std::string> files;
  std::string model_dir, device = "auto", ext = "wav";
  std::vector<std::string> targets;
  std::string outdir = "separated";
  SeparatorOptions sep;
  int bits = 0, threads = 0;
  double start = 0.0, duration = -1.0;

  app.add_option("FILE", files, "audio files to separate")->required();
  app.add_option("--model", model_dir,
                 "model folder with <target>.json + <target>.safetensors per target (default: $UNMIX_MODEL_DIR, "
                 "then models/default)");
  app.add_option("--targets", targets, "targets to separate, comma-separated, e.g. guitar or guitar,bass "
                                       "(default: every target in the model folder)")
      ->delimiter(',');
  app.add_option("--outdir", outdir, "output folder; results go to <outdir>/<file stem>/")->capture_default_str();
  app.add_option("--niter", sep.niter,
                 "EM iterations of the Wiener post-filter; 0 keeps the model's magnitudes with the mixture's phase "
                 "(faster)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  bool with_residual = false, without_residual = false;
  auto* residual_on = app.add_flag("--residual", with_residual,
                                   "also write residual.<ext>: the mixture minus all targets, refined by the EM with "
                                   "them (default: on for a single target, off for several)");
  app.add_flag("--no-residual", without_residual, "do not write the residual")->excludes(residual_on);
  app.add_flag("--softmask", sep.softmask,
               "start the Wiener filter from soft masks (target / sum of targets) instead of the target magnitudes "
               "with the mixture's phase; can help weak models");
  app.add_option("--wiener-win-len", sep.wiener_win_len,
                 "frames the Wiener filter models together (about 7 s at 44.1 kHz); 0 filters the whole file at once, "
                 "which needs memory for the whole file")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--device", device,
                 "where to run the model and the Wiener filter: cuda needs a GPU (a one-line error without one); "
                 "auto uses GPU 0 when there is one, else the CPU")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  app.add_option("--start", start, "start of the excerpt to separate, in seconds")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--duration", duration, "length of the excerpt in seconds (default: to the end)")
      ->check(CLI::PositiveNumber);
  app.add_option("--ext", ext, "output format")->check(CLI::IsMember({"wav", "flac"}))->capture_default_str();
  app.add_option("--bits", bits, "output sample format: 16 or 24 bit PCM, or 32 for 32-bit float WAV "
                                 "(default: 32 for wav, 24 for flac; integer formats clip at full scale)")
      ->check(CLI::IsMember({16, 24, 32}));
  app.add_option("--threads", threads, "CPU threads (default: all cores)")->check(CLI::PositiveNumber);
  app.add_option("--chunk-windows", sep.chunk_windows,
                 "advanced: Wiener windows per chunk; larger chunks use more memory and repeat less context")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--context-frames", sep.context_frames,
                 "advanced: frames of model context on each side of a chunk (see docs/separate.md)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  unmix::stop_on_signals();

  OutputOptions out;
  out.outdir = outdir;
  out.ext = ext;
  out.format = bits == 16 ? SampleFormat::Pcm16 : bits == 24 ? SampleFormat::Pcm24
               : bits == 32 ? SampleFormat::Float32 : ext == "flac" ? SampleFormat::Pcm24 : SampleFormat::Float32;
  out.start_seconds = start;
  out.duration_seconds = duration;
  if (with_residual || without_residual) sep.residual = with_residual;

  std::optional<Separator> separator;
  try {
    check_threads("--threads", threads);
    if (threads > 0) omp_set_num_threads(threads);
    sep.device = parse_device(device);
    validate(out);
    std::filesystem::path dir = model_dir;
    if (dir.empty()) {
      const auto found = default_model_dir(std::filesystem::path("/proc/self/exe").lexically_normal());
      if (!found) {
        std::fprintf(stderr, "separate: %s\n", kNoModel);
        return 1;
      }
      dir = *found;
    }
    separator.emplace(Separator::load(dir, targets, sep));
    std::string names;
    for (const auto& n : separator->source_names()) names += (names.empty() ? "" : ", ") + n;
    std::printf("model %s: sources %s; %s, niter %d\n", dir.c_str(), names.c_str(), separator->describe().c_str(),
                separator->options().niter);
    for (const auto& note : separator->notes()) std::printf("note: %s\n", note.c_str());
    std::fflush(stdout);
  } catch (...) {  // unmix::Error ("<file>: <problem>"), a filesystem error, out of memory
    return unmix::report_exception("separate");
  }

  int failed = 0;
  std::set<std::filesystem::path> used;
  for (const auto& file : files) {
    if (g_stop) break;
    const std::filesystem::path input(file);
    const auto destination = std::filesystem::path(outdir) / input.stem();
    if (!used.insert(destination.lexically_normal()).second) {
      std::fprintf(stderr, "separate: %s: another input of this call already writes to %s; skipped\n", file.c_str(),
                   destination.c_str());
      ++failed;
      continue;
    }
    try {
      double seconds = 0;
      try {
        const AudioInfo info = probe_audio(input);
        seconds = info.frames < 0 ? 1e9 : static_cast<double>(info.frames) / info.sample_rate - start;
        if (duration > 0) seconds = std::min(seconds, duration);
      } catch (const Error&) {
        // read_audio below reports the problem
      }
      ProgressBar bar(input.filename().string(), seconds > kProgressAbove);
      const auto t0 = std::chrono::steady_clock::now();
      const FileResult r = separate_file(*separator, input, out, [&](double f) { return bar.update(f); });
      const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("%s -> %s (%zu files, %.1f s of audio in %.1f s, %.1fx real time)\n", file.c_str(),
                  destination.c_str(), r.written.size(), r.seconds, took, r.seconds / std::max(took, 1e-9));
      std::fflush(stdout);
    } catch (const Cancelled&) {
      break;
    } catch (const std::bad_alloc&) {
      std::fprintf(stderr, "separate: %s: out of memory (a smaller --chunk-windows or --wiener-win-len needs less)\n",
                   file.c_str());
      ++failed;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "separate: %s\n", e.what());
      ++failed;
    }
  }
  if (g_stop) {
    std::fprintf(stderr, "\nseparate: interrupted; files already written are complete, nothing partial was left\n");
    return 130;
  }
  if (failed) std::fprintf(stderr, "separate: %d of %zu file(s) failed\n", failed, files.size());
  return failed ? 1 : 0;
}
