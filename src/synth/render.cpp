// Rendering one stem: a FluidSynth instance of its own, driven event by event, written as float.
#include "unmix/synth/render.h"

#include <fluidsynth.h>

#include <algorithm>
#include <memory>

#include "unmix/error.h"
#include "unmix/synth/midi_events.h"

namespace unmix::synth {

namespace {

struct SettingsDeleter {
  void operator()(fluid_settings_t* s) const { delete_fluid_settings(s); }
};
struct SynthDeleter {
  void operator()(fluid_synth_t* s) const { delete_fluid_synth(s); }
};

constexpr int kBlock = 4096;  // frames rendered between checks of the stop flag

}  // namespace

Audio render_part(const SoundfontSet& fonts, const SongPlan& plan, std::size_t part_index, const std::atomic<bool>* stop) {
  const Part& part = plan.parts.at(part_index);
  const std::string where = plan.track_id + " stem " + std::to_string(part_index + 1);
  const std::vector<MidiEvent> events = part_events(plan, part_index);

  std::unique_ptr<fluid_settings_t, SettingsDeleter> settings(new_fluid_settings());
  fluid_settings_t* s = settings.get();
  fluid_settings_setnum(s, "synth.sample-rate", plan.sample_rate);
  fluid_settings_setnum(s, "synth.gain", 0.5);
  fluid_settings_setint(s, "synth.polyphony", 256);
  fluid_settings_setint(s, "synth.cpu-cores", 1);       // parallelism comes from one synth per stem
  fluid_settings_setint(s, "synth.threadsafe-api", 0);  // each synth is used by one thread only
  fluid_settings_setint(s, "synth.audio-channels", 1);
  fluid_settings_setint(s, "synth.reverb.active", part.mix.reverb ? 1 : 0);
  if (part.mix.reverb) {
    fluid_settings_setnum(s, "synth.reverb.room-size", part.mix.reverb_room_size);
    fluid_settings_setnum(s, "synth.reverb.damp", part.mix.reverb_damping);
    fluid_settings_setnum(s, "synth.reverb.width", part.mix.reverb_width);
    fluid_settings_setnum(s, "synth.reverb.level", part.mix.reverb_level);
  }
  fluid_settings_setint(s, "synth.chorus.active", part.mix.chorus ? 1 : 0);
  if (part.mix.chorus) {
    fluid_settings_setint(s, "synth.chorus.nr", part.mix.chorus_voices);
    fluid_settings_setnum(s, "synth.chorus.level", part.mix.chorus_level);
    fluid_settings_setnum(s, "synth.chorus.speed", part.mix.chorus_speed_hz);
    fluid_settings_setnum(s, "synth.chorus.depth", part.mix.chorus_depth_ms);
  }
  std::unique_ptr<fluid_synth_t, SynthDeleter> synth(new_fluid_synth(s));
  if (!synth) fail(where, "cannot create a FluidSynth instance");
  fluid_synth_t* fs = synth.get();

  const std::filesystem::path& font_path = fonts.path(part.soundfont);
  const int font_id = fluid_synth_sfload(fs, font_path.c_str(), 0);
  if (font_id == FLUID_FAILED) fail(font_path, "FluidSynth cannot load this soundfont");
  const int channel = part_channel(part);
  fluid_synth_pitch_wheel_sens(fs, channel, kBendRange);  // the range the bends were written for
  if (fluid_synth_program_select(fs, channel, font_id, part.instrument.bank, part.instrument.program) != FLUID_OK)
    fail(font_path, std::string("has no preset ") + std::to_string(part.instrument.bank) + ":" +
                        std::to_string(part.instrument.program) + " (" + part.instrument.gm_name + ") for " + where);

  Audio audio;
  audio.sample_rate = plan.sample_rate;
  audio.channels = 2;
  audio.frames = plan.frames;
  audio.samples.assign(2 * static_cast<std::size_t>(plan.frames), 0.0f);
  float* left = audio.channel(0);
  float* right = audio.channel(1);

  std::int64_t position = 0;
  auto render_until = [&](std::int64_t frame) {
    frame = std::min(frame, plan.frames);
    while (position < frame) {
      if (stop && stop->load(std::memory_order_relaxed)) throw Interrupted();
      const int n = static_cast<int>(std::min<std::int64_t>(kBlock, frame - position));
      if (fluid_synth_write_float(fs, n, left, static_cast<int>(position), 1, right, static_cast<int>(position), 1) !=
          FLUID_OK)
        fail(where, "FluidSynth failed to render");
      position += n;
    }
  };
  for (const MidiEvent& event : events) {
    render_until(event.frame);
    switch (event.type) {
      case MidiEvent::Type::NoteOn: fluid_synth_noteon(fs, event.channel, event.data1, event.data2); break;
      case MidiEvent::Type::NoteOff: fluid_synth_noteoff(fs, event.channel, event.data1); break;
      case MidiEvent::Type::ControlChange: fluid_synth_cc(fs, event.channel, event.data1, event.data2); break;
      case MidiEvent::Type::PitchBend: fluid_synth_pitch_bend(fs, event.channel, event.data1); break;
    }
  }
  render_until(plan.frames);
  return audio;
}

}  // namespace unmix::synth
