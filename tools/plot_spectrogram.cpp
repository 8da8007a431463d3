// plot_spectrogram: audio files as stacked spectrogram panels on shared axes, into a PNG or SVG.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "unmix/audio.h"
#include "unmix/error.h"
#include "unmix/plot/spectrogram_plot.h"
#include "unmix/limits.h"

int main(int argc, char** argv) {
  unmix::exit_cleanly_on_terminate("plot_spectrogram");
  CLI::App app{"Plot audio files as spectrograms, one panel each, on the same time and log-frequency axes and one dB "
               "colour scale:\n  plot_spectrogram dry.wav processed.wav --labels dry,processed -o guitar.png"};
  std::vector<std::string> inputs, labels;
  std::string out, title;
  double start = 0, duration = -1;
  unmix::plot::SpectrogramOptions options;
  app.add_option("inputs", inputs, "audio files (WAV, FLAC, OGG, MP3)")->required();
  app.add_option("-o,--out", out, "output picture, .png or .svg")->required();
  app.add_option("--labels", labels, "panel titles, comma-separated (default: the file names)")->delimiter(',');
  app.add_option("--title", title, "title above the panels");
  app.add_option("--start", start, "start of the excerpt in seconds")->check(CLI::NonNegativeNumber);
  app.add_option("--duration", duration, "length of the excerpt in seconds (default: to the end)")->check(CLI::PositiveNumber);
  app.add_option("--width", options.width, "width in pixels")->check(CLI::Range(300, 8000))->capture_default_str();
  app.add_option("--panel-height", options.panel_height, "height of each panel")->check(CLI::Range(40, 4000))->capture_default_str();
  app.add_option("--range-db", options.range_db, "dB range of the colour scale")->check(CLI::Range(10.0, 200.0))->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    if (!labels.empty() && labels.size() != inputs.size())
      unmix::fail("--labels", "gives " + std::to_string(labels.size()) + " titles for " + std::to_string(inputs.size()) + " files");
    options.title = title;
    std::vector<unmix::Audio> audio;
    audio.reserve(inputs.size());
    for (const auto& path : inputs) audio.push_back(unmix::read_audio(path, start, duration));
    std::vector<unmix::plot::SpectrogramPanel> panels;
    for (std::size_t i = 0; i < inputs.size(); ++i)
      panels.push_back({labels.empty() ? std::filesystem::path(inputs[i]).filename().string() : labels[i], &audio[i]});
    unmix::plot::write_spectrogram_plot(out, panels, options);
    return 0;
  } catch (...) {  // unmix::Error ("<file>: <problem>"), a filesystem error, out of memory
    return unmix::report_exception("plot_spectrogram");
  }
}
