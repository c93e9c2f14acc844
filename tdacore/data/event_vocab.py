"""The 388-event performance vocabulary of the Music Transformer (Huang et al. 2018; Oore et al.):
the id ranges of its four event kinds. No imports, so that the workflow can size the model while
it plans; tdacore.data.midi encodes and decodes MIDI with it."""

N_PITCHES = 128
N_TIME_SHIFTS = 100
N_VELOCITY_BINS = 32
NOTE_ON = 0
NOTE_OFF = NOTE_ON + N_PITCHES  # 128
TIME_SHIFT = NOTE_OFF + N_PITCHES  # 256
VELOCITY = TIME_SHIFT + N_TIME_SHIFTS  # 356
VOCAB_SIZE = VELOCITY + N_VELOCITY_BINS  # 388
