"""Models: the architectures by name (registry; mlp, resnet, music_transformer, gpt), building,
saving and loading them (build), training them (train), the model outputs f and Q (outputs),
the dropout masks of the Dropout Ensemble (dropout), LoRA adapters through peft (lora) and
generation of test targets (generation). May import tdacore.data and tdacore.infra."""
