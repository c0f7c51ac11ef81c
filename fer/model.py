"""The emotion network: a small VGG-style CNN for 48x48 grey faces."""

from __future__ import annotations

import keras
from keras import layers

from .emotions import EMOTIONS
from .preprocess import SIZE


def build_model(
    widths: tuple[int, ...] = (32, 64, 128, 256), convs: tuple[int, ...] = (1, 1, 2, 2), dropout: float = 0.4
) -> keras.Model:
    """Blocks of ``convs[i]`` 3x3 conv + batch-norm + ReLU of ``widths[i]`` channels, halving the resolution
    after each block, then global average pooling and a softmax over the seven emotions.

    Convolutions at 48x48 and 24x24 cost the most per parameter, so the early blocks have one conv and
    the late, cheap ones two. Input: ``preprocess`` output."""
    if len(widths) != len(convs):
        raise ValueError("widths and convs need one entry per block")
    inputs = keras.Input((SIZE, SIZE, 1), name="face")
    x = inputs
    for i, (width, n) in enumerate(zip(widths, convs)):
        for j in range(n):
            x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"conv{i}_{j}")(x)
            x = layers.BatchNormalization(name=f"bn{i}_{j}")(x)
            x = layers.ReLU(name=f"relu{i}_{j}")(x)
        x = layers.MaxPooling2D(name=f"pool{i}")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    # float32 output: softmax stays exact when the rest trains in bfloat16 (mixed precision on a GPU)
    outputs = layers.Dense(len(EMOTIONS), activation="softmax", name="emotion", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="fer_cnn")
