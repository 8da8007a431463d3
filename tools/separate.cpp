// separate: any audio file in, the target sources (the guitar, ...) and the rest out.
// The command line of openunmix's `umx`, on the CPU or the GPU; see docs/separate.md.
#include <CLI/CLI.hpp>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <set>

#include "unmix/stop_signal.h"
#include "unmix/audio.h"
#include "unmix/error.h"
#include "unmix/plot/spectrogram_plot.h"
#include "unmix/separator.h"
#include "unmix/limits.h"

using namespace unmix;

namespace {

std::atomic<bool>& g_stop = unmix::stop_flag();

constexpr double kProgressAbove = 5.0;  // seconds of audio above which a progress bar is drawn

// One progress bar over all files (by seconds of audio), on a terminal; a line per tenth otherwise (logs).
class ProgressBar {
 public:
  ProgressBar(double total_seconds, bool enabled)
      : total_(std::max(total_seconds, 1e-9)), enabled_(enabled), tty_(::isatty(STDERR_FILENO) != 0),
        start_(std::chrono::steady_clock::now()) {}
  // `label`: the file in progress; `done_seconds`: audio finished, including the current file's part.
  bool update(const std::string& label, double done_seconds) {
    if (g_stop) return false;
    if (!enabled_) return true;
    const double fraction = std::clamp(done_seconds / total_, 0.0, 1.0);
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0;
    const int percent = static_cast<int>(fraction * 100 + 0.5);
    if (tty_) {
      constexpr int width = 30;
      const int filled = static_cast<int>(fraction * width + 0.5);
      std::fprintf(stderr, "\r\033[K  [%s%s] %3d%%  ETA %s  %s", std::string(filled, '#').c_str(),
                   std::string(width - filled, '.').c_str(), percent, clock(eta).c_str(), label.c_str());
      drawn_ = true;
    } else if (percent / 10 > last_tenth_) {
      last_tenth_ = percent / 10;
      std::fprintf(stderr, "  %3d%%  ETA %s  %s\n", percent, clock(eta).c_str(), label.c_str());
    }
    std::fflush(stderr);
    return true;
  }
  // Before a line of its own goes out: a terminal's bar line is cleared (and redrawn by the next update).
  void clear() {
    if (tty_ && drawn_) std::fprintf(stderr, "\r\033[K");
    drawn_ = false;
  }

 private:
  static std::string clock(double seconds) {
    const long s = std::lround(seconds);
    char buf[32];
    if (s >= 3600) std::snprintf(buf, sizeof(buf), "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else std::snprintf(buf, sizeof(buf), "%ld:%02ld", s / 60, s % 60);
    return buf;
  }
  double total_;
  bool enabled_, tty_, drawn_ = false;
  int last_tenth_ = 0;
  std::chrono::steady_clock::time_point start_;
};

// Extensions of the audio files taken from a folder (what libsndfile decodes).
bool audio_extension(const std::filesystem::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  static const std::set<std::string> known{".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".aif", ".aiff", ".w64", ".caf"};
  return known.count(e) > 0;
}

struct Job {
  std::filesystem::path input;
  std::filesystem::path relative;  // folder below the command line's folder argument
};

// FILE arguments as they are; DIR arguments by every audio file below them (sorted, so runs are
// repeatable), except those inside the output folder.
std::vector<Job> expand_inputs(const std::vector<std::string>& args, const std::filesystem::path& outdir, int& failed) {
  namespace fs = std::filesystem;
  std::vector<Job> jobs;
  std::error_code ec;
  const fs::path out_abs = fs::weakly_canonical(outdir, ec);
  for (const auto& arg : args) {
    const fs::path root(arg);
    if (!fs::is_directory(root, ec)) {
      jobs.push_back({root, {}});
      continue;
    }
    std::vector<fs::path> found;
    fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
    if (ec) {
      std::fprintf(stderr, "separate: %s: cannot list the folder: %s\n", arg.c_str(), ec.message().c_str());
      ++failed;
      continue;
    }
    for (; it != end; it.increment(ec)) {
      if (ec) {
        std::fprintf(stderr, "separate: %s: %s; the rest of the folder is skipped\n", it->path().c_str(), ec.message().c_str());
        ++failed;
        break;
      }
      const fs::path abs = fs::weakly_canonical(it->path(), ec);
      if (it->is_directory(ec) && !out_abs.empty() && abs == out_abs) {
        it.disable_recursion_pending();  // the outputs of this or an earlier run
        continue;
      }
      if (it->is_regular_file(ec) && audio_extension(it->path())) found.push_back(it->path());
    }
    std::sort(found.begin(), found.end());
    if (found.empty()) std::fprintf(stderr, "separate: %s: no audio files in this folder\n", arg.c_str());
    for (const auto& f : found) jobs.push_back({f, f.parent_path().lexically_relative(root)});
  }
  return jobs;
}

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
      "but the targets) when the residual is on. Mono files give mono sources, stereo files stereo ones.\n"
      "A DIR is searched recursively for audio files; their folders are kept under --outdir\n"
      "(DIR/a/b/song.mp3 -> <outdir>/a/b/song/guitar.wav).\n"
      "Which rest to use: residual.<ext> is the Wiener filter's estimate of everything but the targets (the\n"
      "cleaner \"other\" stem, for remixing or analysis); backing.<ext> (--backing) is exactly the mixture minus\n"
      "the written targets, so targets + backing = the song (to play along to, or to put an edited guitar back)."};
  app.footer(
      "Model: --model DIR, else $UNMIX_MODEL_DIR, else models/default (in the working directory or the source\n"
      "tree). A model folder is openunmix's layout with safetensors weights; scripts/convert_openunmix.py converts\n"
      "openunmix .pth models, build/tools/demo trains a small one.\n"
      "Files are streamed from disk to disk in chunks, so memory does not grow with their length.\n"
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

  app.add_option("FILE", files, "audio files, or folders to search recursively for audio files")->required();
  app.add_option("--model", model_dir,
                 "model folder with <target>.json + <target>.safetensors per target (default: $UNMIX_MODEL_DIR, "
                 "then models/default)");
  app.add_option("--targets", targets, "targets to separate, comma-separated, e.g. guitar or guitar,bass "
                                       "(default: every target in the model folder but the parts of another, so guitar and "
                                       "not lead_guitar or rhythm_guitar; name parts to get them)")
      ->delimiter(',');
  app.add_option("--outdir", outdir, "output folder; results go to <outdir>/<file stem>/")->capture_default_str();
  app.add_option("--niter", sep.niter,
                 "EM iterations of the Wiener post-filter, 0 to 100; 0 keeps the model's magnitudes with the mixture's "
                 "phase (faster)")
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
                 "frames the Wiener filter models together (about 7 s at 44.1 kHz), at most 1048576; 0 filters the "
                 "whole file at once, which needs memory for the whole file")
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
  app.add_option("--ext", ext, "output format: wav, flac, or lossy mp3, opus, ogg (Vorbis); the input's title, artist, "
                               "... tags are copied where the format has them")
      ->check(CLI::IsMember({"wav", "flac", "mp3", "opus", "ogg"}))
      ->capture_default_str();
  double quality = -1;
  int kbps = 0;
  bool cbr = false, backing = false, skip_existing = false;
  app.add_option("--quality", quality,
                 "mp3 / opus / ogg: encoder quality from 0 (best, largest) to 1 (smallest); with --cbr it sets mp3's "
                 "bitrate (0.1: 320 kbit/s, 0.9: 56 kbit/s); flac: compression effort (default: the encoder's). "
                 "For a bitrate in kbit/s see --bitrate")
      ->check(CLI::Range(0.0, 1.0));
  // Checked with the other output options below, so a bad combination is a one-line error (exit 1).
  auto* bitrate_option = app.add_option("--bitrate", kbps,
                 "mp3 / opus: bitrate of the whole stream in kbit/s, instead of --quality. mp3: average bitrate "
                 "(LAME's ABR, 32-320 at 32-48 kHz), or with --cbr constant: 32 40 48 56 64 80 96 112 128 160 192 "
                 "224 256 320 at 32-48 kHz (8-160 at 16-24 kHz, 8-64 below), others go to the nearest with a note; "
                 "opus: 6-256 per channel (12-512 stereo). Not for ogg (Vorbis takes --quality only)");
  app.add_flag("--cbr", cbr, "mp3: constant bitrate instead of variable");
  app.add_flag("--backing", backing,
               "also write backing.<ext>: the mixture minus the separated targets, exactly (targets + backing give the "
               "input back, bit for bit in 16/24-bit formats); for playing along. residual.<ext> is the Wiener "
               "filter's cleaner estimate of the rest, for remixing");
  bool plot = false;
  std::string plot_format = "png";
  app.add_flag("--plot", plot,
               "also draw <outdir>/<song>/spectrograms.png: the mix and every output as spectrograms on the same time, "
               "log-frequency and dB axes");
  app.add_option("--plot-format", plot_format, "png or svg")->check(CLI::IsMember({"png", "svg"}))->capture_default_str();
  app.add_flag("--skip-existing", skip_existing, "skip inputs whose outputs all exist already (e.g. to resume a folder)");
  app.add_option("--bits", bits, "output sample format: 16 or 24 bit PCM, or 32 for 32-bit float WAV "
                                 "(default: 32 for wav, 24 for flac; integer formats clip at full scale)")
      ->check(CLI::IsMember({16, 24, 32}));
  app.add_option("--threads", threads, "CPU threads (default: all cores)")->check(CLI::PositiveNumber);
  app.add_option("--chunk-windows", sep.chunk_windows,
                 "advanced: Wiener windows per chunk, 1 to 1024; larger chunks use more memory and repeat less context "
                 "(a chunk that would not fit in this machine's memory is refused)")
      ->capture_default_str();
  app.add_option("--context-frames", sep.context_frames,
                 "advanced: frames of model context on each side of a chunk, at most 1048576 (see docs/separate.md)")
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
  out.quality = quality;
  out.variable_bitrate = !cbr;
  out.kbps = kbps;
  out.backing = backing;
  if (with_residual || without_residual) sep.residual = with_residual;

  std::optional<Separator> separator;
  try {
    check_threads("--threads", threads);
    validate(sep);  // the separator's bounds, before a model is loaded
    if (threads > 0) omp_set_num_threads(threads);
    sep.device = parse_device(device);
    if (bits != 0 && lossy_extension(ext))
      fail("--bits", "applies to wav and flac; set lossy formats with --quality or --bitrate");
    if (cbr && ext != "mp3") fail("--cbr", "applies to mp3 only (libsndfile's Opus encoder has no bitrate mode)");
    if (bitrate_option->count() > 0 && kbps <= 0) fail("--bitrate", "must be a positive number of kbit/s");
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
  const std::vector<Job> jobs = expand_inputs(files, outdir, failed);
  // Seconds of audio per file, for the overall progress (header estimates; 0 where a file cannot be opened).
  std::vector<double> seconds(jobs.size(), 0.0);
  double total = 0;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    try {
      const AudioInfo info = probe_audio(jobs[i].input);
      double s = info.frames < 0 ? 0 : static_cast<double>(info.frames) / info.sample_rate - start;
      if (duration > 0) s = std::min(s, duration);
      seconds[i] = std::max(s, 0.0);
    } catch (const Error&) {
      // separate_file below reports the problem
    }
    total += seconds[i];
  }
  ProgressBar bar(total, total > kProgressAbove);
  auto say = [&](std::FILE* stream, const char* fmt, auto... args) {
    bar.clear();
    std::fprintf(stream, fmt, args...);
    std::fflush(stream);
  };

  std::set<std::filesystem::path> used;
  double done_seconds = 0;
  int separated = 0, skipped = 0;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (g_stop) break;
    const std::filesystem::path& input = jobs[i].input;
    const auto destination = output_folder(out, input, jobs[i].relative);
    const std::string label = "[" + std::to_string(i + 1) + "/" + std::to_string(jobs.size()) + "] " + input.filename().string();
    if (!used.insert(destination).second) {
      say(stderr, "separate: %s: another input of this call already writes to %s; skipped\n", input.c_str(),
          destination.c_str());
      ++failed;
      done_seconds += seconds[i];
      continue;
    }
    if (skip_existing) {
      auto outputs = output_files(out, separator->source_names(), destination);
      if (plot) outputs.push_back(destination / ("spectrograms." + plot_format));
      if (std::all_of(outputs.begin(), outputs.end(), [](const auto& p) { return std::filesystem::exists(p); })) {
        say(stdout, "%s: done already (%s), skipped\n", input.c_str(), destination.c_str());
        ++skipped;
        done_seconds += seconds[i];
        continue;
      }
    }
    try {
      const auto t0 = std::chrono::steady_clock::now();
      bar.update(label, done_seconds);
      const FileResult r = separate_file(*separator, input, out,
                                         [&](double f) { return bar.update(label, done_seconds + f * seconds[i]); },
                                         destination);
      if (plot) {
        std::vector<plot::SpectrogramFile> panels{{"mix: " + input.filename().string(), input, start, duration}};
        for (const auto& p : r.written) panels.push_back({p.stem().string(), p});
        plot::SpectrogramOptions look;
        look.panel_height = 200;
        look.title = input.stem().string();
        plot::write_spectrogram_plot(destination / ("spectrograms." + plot_format), panels, look);
      }
      const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      say(stdout, "%s -> %s (%zu files, %.1f s of audio in %.1f s, %.1fx real time)\n", input.c_str(), destination.c_str(),
          r.written.size(), r.seconds, took, r.seconds / std::max(took, 1e-9));
      if (r.backing_clipped > 0)
        say(stderr, "separate: %s: note: %lld backing samples went past full scale and were clipped; use --bits 32 "
                    "for an exact backing track\n", input.c_str(), static_cast<long long>(r.backing_clipped));
      if (!r.bitrate_note.empty()) say(stderr, "separate: %s: note: %s\n", input.c_str(), r.bitrate_note.c_str());
      ++separated;
    } catch (const Cancelled&) {
      break;
    } catch (const std::bad_alloc&) {
      say(stderr, "separate: %s: out of memory (a smaller --chunk-windows or --wiener-win-len needs less)\n",
          input.c_str());
      ++failed;
    } catch (const std::exception& e) {
      say(stderr, "separate: %s\n", e.what());
      ++failed;
    }
    done_seconds += seconds[i];
  }
  bar.clear();
  if (jobs.size() > 1 && !g_stop)
    std::printf("%d of %zu file(s) separated, %d skipped as done, %d failed\n", separated, jobs.size(), skipped, failed);
  std::fflush(stdout);
  if (g_stop) {
    std::fprintf(stderr, "\nseparate: interrupted; files already written are complete, nothing partial was left\n");
    return 130;
  }
  if (failed) std::fprintf(stderr, "separate: %d of %zu file(s) failed\n", failed, jobs.size());
  return failed ? 1 : 0;
}
