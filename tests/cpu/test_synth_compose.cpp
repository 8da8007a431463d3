// The composer and the MIDI generator, without rendering: determinism, the guitar in every song, the
// --guitar restriction, artists, chord shapes, strums, bass on the harmony, well-formed events.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "unmix/synth/harmony.h"
#include "unmix/synth/midi_events.h"
#include "unmix/synth/note_writer.h"
#include "unmix/synth/song_plan.h"
#include "unmix/synth/soundfonts.h"

using namespace unmix::synth;

namespace {

const std::filesystem::path kTimGM6mb = "/usr/share/sounds/sf2/TimGM6mb.sf2";

const SoundfontSet& tim_font() {
  static const SoundfontSet fonts({kTimGM6mb});
  return fonts;
}

class Compose : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(kTimGM6mb))
        << kTimGM6mb << " is missing: install timgm6mb-soundfont (scripts/install-deps.sh)";
  }
};

bool is_guitar_label(const std::string& label) {
  return label == "acoustic guitar" || label == "clean electric guitar" || label == "distorted electric guitar";
}

int playing_bars(const SongPlan& plan, const Part& part) {
  int bars = 0;
  for (std::size_t s = 0; s < plan.sections.size(); ++s)
    if (part.pattern_by_section[s] != Pattern::Tacet) bars += plan.sections[s].bars;
  return bars;
}

// Where a note on `beat` lands before humanization (swing delays off-beat eighths).
double beat_seconds(const SongPlan& plan, double beat) {
  if (plan.swing > 0 && std::abs(beat - std::floor(beat) - 0.5) < 1e-6) beat += plan.swing / 6.0;
  return beat * plan.seconds_per_beat();
}

// A one-section song played by a single part, for looking at one generator closely.
SongPlan single_part_song(Role role, Pattern pattern, GuitarKind kind = GuitarKind::Acoustic) {
  SongPlan plan;
  plan.track_id = "Test_Song";
  plan.bpm = 100;
  plan.beats_per_bar = 4;
  plan.key = 0;
  plan.mode = Mode::Major;
  plan.bars = 4;
  plan.sections = {{SectionKind::Verse, 0, 4, 0.7}};
  for (int bar = 0; bar < 4; ++bar) plan.chords.push_back({bar * 4.0, 4.0, diatonic_chord(0, Mode::Major, bar == 1 ? 3 : bar == 2 ? 4 : 0, false)});
  plan.frames = static_cast<std::int64_t>(std::ceil(plan.beats() * plan.seconds_per_beat() * plan.sample_rate));
  Part part;
  part.role = role;
  part.guitar_kind = kind;
  part.instrument = role == Role::Drums ? drum_kit(0) : melodic_instrument(kind == GuitarKind::Acoustic ? 25 : 27);
  part.pattern_by_section = {pattern};
  part.timing_jitter_ms = 0;
  part.seed = 1234;
  plan.parts.push_back(part);
  return plan;
}

}  // namespace

TEST_F(Compose, SameSeedAndIndexGiveTheSameSong) {
  const ComposeOptions options{42, 20.0, 44100, {}};
  const SongPlan a = compose_song(options, tim_font(), 5), b = compose_song(options, tim_font(), 5);
  EXPECT_EQ(a.track_id, b.track_id);
  EXPECT_EQ(a.bpm, b.bpm);
  ASSERT_EQ(a.parts.size(), b.parts.size());
  for (std::size_t p = 0; p < a.parts.size(); ++p) {
    const auto na = part_notes(a, p), nb = part_notes(b, p);
    ASSERT_EQ(na.size(), nb.size());
    for (std::size_t i = 0; i < na.size(); ++i) {
      EXPECT_EQ(na[i].start, nb[i].start);
      EXPECT_EQ(na[i].end, nb[i].end);
      EXPECT_EQ(na[i].key, nb[i].key);
      EXPECT_EQ(na[i].velocity, nb[i].velocity);
    }
  }
  // Another seed is another corpus.
  int differing = 0;
  for (int i = 0; i < 10; ++i) {
    const SongPlan x = compose_song(options, tim_font(), i);
    const SongPlan y = compose_song({43, 20.0, 44100, {}}, tim_font(), i);
    differing += x.track_id != y.track_id || x.bpm != y.bpm || x.key != y.key;
  }
  EXPECT_GE(differing, 9);
}

TEST_F(Compose, EverySongHasAGuitarPlayingAtLeastHalfTheSong) {
  const ComposeOptions options{7, 30.0, 44100, {}};
  std::set<std::string> kinds;
  for (int i = 0; i < 150; ++i) {
    const SongPlan plan = compose_song(options, tim_font(), i);
    ASSERT_FALSE(plan.sections.empty());
    EXPECT_EQ(plan.sections.back().first_bar + plan.sections.back().bars, plan.bars) << plan.track_id;
    EXPECT_EQ(plan.frames, 30 * 44100);
    bool guitar = false;
    for (std::size_t p = 0; p < plan.parts.size(); ++p) {
      const Part& part = plan.parts[p];
      // Every stem must sound somewhere, or it would be a silent stem.
      EXPECT_FALSE(part_notes(plan, p).empty()) << plan.track_id << " part " << p;
      if (part.role != Role::Guitar) {
        EXPECT_FALSE(is_guitar_label(part.instrument.label)) << plan.track_id;
        continue;
      }
      EXPECT_TRUE(is_guitar_label(part.instrument.label));
      const auto programs = guitar_programs(part.guitar_kind, options.plugins);
      EXPECT_NE(std::find(programs.begin(), programs.end(), part.instrument.program), programs.end());
      kinds.insert(guitar_kind_label(part.guitar_kind));
      if (2 * playing_bars(plan, part) >= plan.bars) guitar = true;
    }
    EXPECT_TRUE(guitar) << plan.track_id << " has no guitar playing half of its bars";
    EXPECT_GE(plan.parts.size(), 3u);
  }
  EXPECT_EQ(kinds.size(), 3u) << "all three guitar kinds should turn up in 150 songs";
}

TEST_F(Compose, GuitarOptionRestrictsTheKinds) {
  for (GuitarKind only : kAllGuitarKinds) {
    const ComposeOptions options{3, 15.0, 44100, {only}};
    for (int i = 0; i < 40; ++i) {
      const SongPlan plan = compose_song(options, tim_font(), i);
      for (const Part& part : plan.parts) {
        if (part.role != Role::Guitar) continue;
        EXPECT_EQ(part.guitar_kind, only);
        const auto programs = guitar_programs(only, options.plugins);
        EXPECT_NE(std::find(programs.begin(), programs.end(), part.instrument.program), programs.end());
      }
    }
  }
  EXPECT_EQ(parse_guitar_kind("clean"), GuitarKind::CleanElectric);
  EXPECT_EQ(parse_guitar_kind("distorted electric guitar"), GuitarKind::DistortedElectric);
  EXPECT_FALSE(parse_guitar_kind("banjo").has_value());
}

TEST_F(Compose, ArtistsHaveSeveralSongsInOneGenreAndNamesAreUnique) {
  const ComposeOptions options{11, 10.0, 44100, {}};
  std::map<std::string, std::vector<int>> songs_by_artist;
  std::map<std::string, std::set<std::string>> genres_by_artist;
  std::set<std::string> ids;
  for (int i = 0; i < 300; ++i) {
    const SongPlan plan = compose_song(options, tim_font(), i);
    EXPECT_TRUE(ids.insert(plan.track_id).second) << "duplicate track id " << plan.track_id;
    EXPECT_EQ(plan.track_id.find(' '), std::string::npos);
    songs_by_artist[plan.artist].push_back(i);
    genres_by_artist[plan.artist].insert(plan.genre);
  }
  EXPECT_GT(songs_by_artist.size(), 50u);
  EXPECT_LT(songs_by_artist.size(), 200u);
  int multi = 0;
  for (const auto& [artist, songs] : songs_by_artist) {
    EXPECT_LE(songs.size(), 6u) << artist;
    EXPECT_EQ(songs.back() - songs.front() + 1, static_cast<int>(songs.size())) << artist << "'s songs are not consecutive";
    EXPECT_EQ(genres_by_artist[artist].size(), 1u) << artist;
    multi += songs.size() > 1;
  }
  EXPECT_GT(multi, static_cast<int>(songs_by_artist.size()) / 2);
  EXPECT_EQ(track_id("The Copper Lanterns", "Paper Moon"), "TheCopperLanterns_PaperMoon");
}

TEST(Harmony, GuitarVoicingsArePlayableChordsWithTheRootBelow) {
  for (int root = 0; root < 12; ++root)
    for (Mode mode : {Mode::Major, Mode::Minor})
      for (int degree = 0; degree < 7; ++degree)
        for (int position : {0, 3, 5, 7, 10}) {
          const Chord chord = diatonic_chord(root, mode, degree, degree % 2 == 1);
          const auto voicing = guitar_voicing(chord, position);
          int played = 0, lowest = -1, min_fret = 99, max_fret = -1;
          for (std::size_t s = 0; s < 6; ++s) {
            if (voicing[s] < 0) continue;
            ++played;
            if (lowest < 0) lowest = voicing[s];
            EXPECT_TRUE(is_chord_tone(chord, voicing[s])) << chord.symbol;
            const int fret = voicing[s] - kGuitarStrings[s];
            EXPECT_GE(fret, 0);
            if (fret > 0) min_fret = std::min(min_fret, fret), max_fret = std::max(max_fret, fret);
          }
          EXPECT_GE(played, 3) << chord.symbol << " at " << position;
          EXPECT_EQ(((lowest - chord.root) % 12 + 12) % 12, 0) << chord.symbol << ": the bass note is not the root";
          if (max_fret >= 0) {
            EXPECT_LE(max_fret - min_fret, 4) << chord.symbol << ": a stretch no hand makes";
          }
        }
  const Chord a_minor = diatonic_chord(0, Mode::Major, 5, false);
  EXPECT_EQ(a_minor.symbol, "Am");
  const auto power = power_chord(a_minor, 0);
  EXPECT_EQ(power[1] - power[0], 7);
  EXPECT_EQ(power[2] - power[0], 12);
  EXPECT_EQ(power[0] % 12, 9);
}

TEST_F(Compose, StrumsSoundStringByStringDownAndUp) {
  SongPlan plan = single_part_song(Role::Guitar, Pattern::GuitarStrum);
  const std::vector<Note> notes = part_notes(plan, 0);
  ASSERT_FALSE(notes.empty());
  // Group notes into strokes: onsets closer than 40 ms belong to one stroke.
  std::vector<std::vector<Note>> strokes;
  for (const Note& n : notes) {
    if (strokes.empty() || n.start - strokes.back().back().start > plan.sample_rate * 40 / 1000) strokes.emplace_back();
    strokes.back().push_back(n);
  }
  int down = 0, up = 0;
  for (const auto& stroke : strokes) {
    ASSERT_GE(stroke.size(), 3u);
    const double spread_ms = 1000.0 * static_cast<double>(stroke.back().start - stroke.front().start) / plan.sample_rate;
    EXPECT_GT(spread_ms, 5.0) << "strings of a strum must not sound at once";
    EXPECT_LT(spread_ms, 150.0);
    bool ascending = true, descending = true;
    for (std::size_t i = 1; i < stroke.size(); ++i) {
      ascending &= stroke[i].key > stroke[i - 1].key;
      descending &= stroke[i].key < stroke[i - 1].key;
    }
    EXPECT_TRUE(ascending || descending) << "a stroke sweeps the strings in one direction" << [&] {
      std::string s;
      for (const Note& n : stroke) s += " " + std::to_string(n.start) + ":" + std::to_string(n.key);
      return s;
    }();
    down += ascending;
    up += descending;
    const double beat = static_cast<double>(stroke.front().start) / plan.sample_rate / plan.seconds_per_beat();
    const Chord& chord = chord_at(plan, beat + 0.01);
    for (const Note& n : stroke) EXPECT_TRUE(is_chord_tone(chord, n.key)) << chord.symbol << " " << n.key;
  }
  EXPECT_GT(down, 0);
  EXPECT_GT(up, 0);
}

TEST_F(Compose, ArpeggiosAndPickedLinesPlayOneNoteAtATime) {
  for (Pattern pattern : {Pattern::GuitarArpeggio, Pattern::GuitarPick}) {
    SongPlan plan = single_part_song(Role::Guitar, pattern, GuitarKind::CleanElectric);
    const std::vector<Note> notes = part_notes(plan, 0);
    ASSERT_GE(notes.size(), 8u);
    for (std::size_t i = 1; i < notes.size(); ++i)
      EXPECT_GT(notes[i].start - notes[i - 1].start, plan.sample_rate / 20) << pattern_name(pattern);
    for (const Note& n : notes) {
      EXPECT_GE(n.key, 40);
      EXPECT_LE(n.key, 88);
    }
  }
}

TEST_F(Compose, BassPlaysTheRootWhenTheChordChanges) {
  const ComposeOptions options{5, 30.0, 44100, {}};
  int checked = 0;
  for (int i = 0; i < 40; ++i) {
    const SongPlan plan = compose_song(options, tim_font(), i);
    for (std::size_t p = 0; p < plan.parts.size(); ++p) {
      if (plan.parts[p].role != Role::Bass) continue;
      const std::vector<Note> notes = part_notes(plan, p);
      for (std::size_t s = 0; s < plan.sections.size(); ++s) {
        if (plan.parts[p].pattern_by_section[s] == Pattern::Tacet) continue;
        const double begin = plan.sections[s].first_bar * plan.beats_per_bar;
        const double end = begin + plan.sections[s].bars * plan.beats_per_bar;
        for (const ChordSpan& span : plan.chords) {
          if (span.start_beat < begin || span.start_beat >= end) continue;
          const double t = beat_seconds(plan, span.start_beat) * plan.sample_rate;
          if (t >= static_cast<double>(plan.frames)) continue;
          const bool root = std::any_of(notes.begin(), notes.end(), [&](const Note& n) {
            return std::abs(static_cast<double>(n.start) - t) < 0.03 * plan.sample_rate && (n.key - span.chord.root) % 12 == 0;
          });
          EXPECT_TRUE(root) << plan.track_id << " beat " << span.start_beat << " chord " << span.chord.symbol;
          ++checked;
        }
      }
    }
  }
  EXPECT_GT(checked, 200);
}

TEST_F(Compose, EventsAreOrderedPairedAndInsideTheSong) {
  const ComposeOptions options{9, 12.0, 44100, {}};
  for (int i = 0; i < 20; ++i) {
    const SongPlan plan = compose_song(options, tim_font(), i);
    for (std::size_t p = 0; p < plan.parts.size(); ++p) {
      const auto events = part_events(plan, p);
      const int channel = plan.parts[p].role == Role::Drums ? 9 : 0;
      std::map<int, int> sounding;
      std::int64_t last = 0;
      int ons = 0;
      for (const MidiEvent& e : events) {
        EXPECT_GE(e.frame, last);
        last = e.frame;
        EXPECT_EQ(e.channel, channel);
        EXPECT_LE(e.frame, plan.frames);
        if (e.type == MidiEvent::Type::NoteOn) {
          EXPECT_LT(e.frame, plan.frames);
          EXPECT_GE(e.data2, 1);
          EXPECT_LE(e.data2, 127);
          EXPECT_EQ(sounding[e.data1]++, 0) << "a key struck again before its note-off";
          ++ons;
        } else if (e.type == MidiEvent::Type::NoteOff) {
          EXPECT_EQ(--sounding[e.data1], 0) << "note-off without a note";
        }
      }
      EXPECT_GT(ons, 0);
      for (const auto& [key, n] : sounding) EXPECT_EQ(n, 0) << "key " << key << " never released";
    }
  }
}
