#pragma once
// A song as a plan: form, harmony, who plays what in which section and how each stem is mixed.
// compose_song decides all of it from (corpus seed, song index) alone, so any song of a corpus can be
// made on its own, in any order, on any thread.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "unmix/synth/harmony.h"
#include "unmix/synth/instruments.h"
#include "unmix/synth/master.h"

namespace unmix::synth {

class SoundfontSet;

enum class SectionKind { Intro, Verse, Chorus, Bridge, Outro };
const char* section_name(SectionKind kind);

// How a part plays in one section. Tacet: it does not play.
enum class Pattern {
  Tacet,
  GuitarStrum, GuitarArpeggio, GuitarPick, GuitarPowerChords,
  GuitarRiff,  // the song's palm-muted low-string riff with power-chord accents (the bass may double it)
  GuitarLead,  // a lead line or solo: single notes with bends, slides and vibrato
  BassRoots, BassRootFifth, BassSyncopated, BassWalking, BassOctaves, BassWhole,
  BassRiff,    // the song's riff, an octave below the guitars
  DrumsRock, DrumsPop, DrumsFourOnTheFloor, DrumsHalfTime, DrumsSwing, DrumsBallad, DrumsWaltz, DrumsTimeKeeping,
  DrumsHardRock,  // eighths on a crash or open ride wash, pushed kicks
  DrumsMetal,     // double kick sixteenths, crash/china on the beats
  KeysBlock, KeysBroken, KeysSustain,
  PadSustain,
  LeadMelody,
};
const char* pattern_name(Pattern pattern);

struct Section {
  SectionKind kind = SectionKind::Verse;
  int first_bar = 0;
  int bars = 0;
  double intensity = 0.5;  // 0..1: louder, denser playing towards 1
};

struct ChordSpan {
  double start_beat = 0;  // from the start of the song
  double beats = 0;
  Chord chord;
};

struct StemMix {
  double level_db = 0;  // stem loudness relative to the corpus reference level (active RMS -20 dBFS)
  double pan = 0;       // -1 (left) .. +1 (right), constant-power balance applied to the stereo render
  bool reverb = false;  // FluidSynth's reverb unit for this stem's synth, with its settings
  double reverb_room_size = 0, reverb_damping = 0, reverb_width = 0, reverb_level = 0;
  int reverb_send = 0;  // CC91
  bool chorus = false;
  int chorus_voices = 0;
  double chorus_level = 0, chorus_speed_hz = 0, chorus_depth_ms = 0;
  int chorus_send = 0;  // CC93
};

// One LV2 plugin of a stem's signal chain with the control values drawn for it (others at defaults).
struct PluginSetting {
  std::string uri;
  std::vector<std::pair<std::string, float>> controls;  // symbol, value
};

// A stem's processing, drawn with the song (see effects_plan.cpp). Empty: the FluidSynth render as is.
struct StemEffects {
  std::string chain;                   // what it models: "high-gain amp", "clean amp", "acoustic", "mix bus"
  std::vector<PluginSetting> insert;   // on the dry render (a guitar's DI, mono): gate, boost, amp, cabinet, EQ
  std::vector<PluginSetting> send;     // after panning, stereo: modulation, delay, reverb
  std::vector<PluginSetting> mix;      // the mix engineer's per-stem EQ and compression (stereo)
  bool empty() const { return insert.empty() && send.empty() && mix.empty(); }
};

// What a guitar plays in the arrangement: chords and riffs, or lines and solos on top.
enum class GuitarRole { Rhythm, Lead };
const char* guitar_role_name(GuitarRole role);  // "rhythm" / "lead"

// A guitar tuning: every string `transpose` semitones from standard, the low string `drop` more.
struct Tuning {
  const char* name = "standard";
  int transpose = 0;  // 0 standard, -2 D standard, -4 C standard, -5 B standard
  int drop = 0;       // -2 for drop tunings (drop D: transpose 0, drop -2)
  std::array<int, 6> strings() const;  // MIDI notes of the open strings, low first
};

struct Part {
  Role role = Role::Guitar;
  GuitarKind guitar_kind = GuitarKind::Acoustic;  // for Role::Guitar
  GuitarRole guitar_role = GuitarRole::Rhythm;    // for Role::Guitar
  Instrument instrument;
  std::string component;                   // MedleyDB "component": "melody", "bass" or ""
  std::size_t soundfont = 0;               // index into the SoundfontSet the song was composed for
  std::vector<Pattern> pattern_by_section; // one per Section
  StemMix mix;
  int fret_position = 0;                   // guitars: where on the neck the chord shapes sit
  int register_offset = 0;                 // lead/keys: semitones from the instrument's usual register
  double timing_jitter_ms = 0;             // standard deviation of the humanized onset times
  std::uint64_t seed = 0;                  // the part's own random stream: what it plays
  std::uint64_t performance_seed = 0;      // how it is played: timing and velocity humanization
  int double_of = -1;                      // a double-tracked guitar: index (in parts) of the part it doubles,
                                           // same notes from the same seed, its own performance and tone
  StemEffects effects;                     // LV2 processing of the stem (ComposeOptions::plugins)
};

struct SongPlan {
  int index = 0;                 // song number within the corpus
  std::uint64_t corpus_seed = 0;
  std::string track_id;          // <Artist>_<Title> without spaces, as MedleyDB names tracks
  std::string artist, title, genre;
  std::string style;             // finer than MedleyDB's genre: "rock", "hard rock", "metal", "pop", ...
  int artist_index = 0;
  Tuning tuning;                 // the guitars' tuning (the band plays in one)
  std::uint64_t riff_seed = 0;   // the song's riff, shared by the guitars and a bass that doubles it

  double bpm = 120;
  int beats_per_bar = 4;
  double swing = 0;  // 0 straight eighths .. 1 triplet swing
  int key = 0;       // tonic pitch class
  Mode mode = Mode::Major;

  std::vector<Section> sections;  // contiguous, covering every bar of the song
  std::vector<ChordSpan> chords;  // contiguous, covering the song
  int bars = 0;

  int sample_rate = 44100;
  std::int64_t frames = 0;  // exact song length
  double target_peak = 0.9; // the mix is scaled so its peak is this (before mastering)
  MasterSettings master;    // the mix bus; inactive: the mix is the scaled sum of the stems
  std::vector<Part> parts;  // one stem each

  double seconds_per_beat() const { return 60.0 / bpm; }
  double beats() const { return static_cast<double>(bars) * beats_per_bar; }
};

struct ComposeOptions {
  std::uint64_t seed = 0;
  double seconds = 30;  // song length
  int sample_rate = 44100;
  std::vector<GuitarKind> guitar_kinds;  // which guitars may appear; empty: all
  bool mastering = true;                 // bus compressor + limiter to a drawn loudness (see master.h)
  bool plugins = true;                   // guitar amps, cabinets and effects, per-stem EQ and compression (LV2)
};

// The signal chain of `part` (already composed: role, kind, instrument) in a song of `style`.
StemEffects draw_effects(std::uint64_t seed, const Part& part, const std::string& style);

// Song `index` of the corpus made with `options`. Soundfonts are drawn per stem from `fonts`, only
// among those that hold the preset. Every song has at least one guitar stem that plays in at least
// half of its bars.
SongPlan compose_song(const ComposeOptions& options, const SoundfontSet& fonts, int index);

// Artist of song `index`: songs come in runs of one to six per artist (about three on average).
int artist_index_of(std::uint64_t seed, int index);
std::string artist_name(std::uint64_t seed, int artist_index);
std::string song_title(std::uint64_t seed, int index);
// "The Copper Lanterns" + "Paper Moon" -> "TheCopperLanterns_PaperMoon".
std::string track_id(const std::string& artist, const std::string& title);

}  // namespace unmix::synth
