#pragma once
// Spectrogram pictures: one panel per signal, stacked on the same axes (time in seconds, log frequency,
// one dB colour scale for all panels), drawn with cairo into a PNG or an SVG (by the file's extension).
#include <filesystem>
#include <span>
#include <string>

#include "unmix/audio.h"

namespace unmix::plot {

struct SpectrogramPanel {
  std::string title;
  const Audio* audio = nullptr;  // any rate and channel count; channels are averaged in power
};

struct SpectrogramOptions {
  int width = 1400;          // pixels (SVG: points)
  int panel_height = 240;
  double min_hz = 30, max_hz = 20000;
  double range_db = 90;      // colours span [loudest - range_db, loudest] over all panels
  int nfft = 4096, hop = 512;
  std::string title;         // above the panels; empty: none
};

// Writes `out` (.png or .svg) atomically; unmix::Error naming the file for anything else.
void write_spectrogram_plot(const std::filesystem::path& out, std::span<const SpectrogramPanel> panels,
                            const SpectrogramOptions& options = {});

// The same figure from files read forward: each panel is reduced to the picture's columns while its file
// is decoded, so memory does not grow with the length (for hour-long songs). start/duration: an excerpt.
struct SpectrogramFile {
  std::string title;
  std::filesystem::path path;
  double start_seconds = 0.0, duration_seconds = -1.0;
};
void write_spectrogram_plot(const std::filesystem::path& out, std::span<const SpectrogramFile> files,
                            const SpectrogramOptions& options = {});

}  // namespace unmix::plot
