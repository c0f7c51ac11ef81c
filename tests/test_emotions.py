from fer.emotions import COLORS, EMOTIONS, VALENCE, canonical


def test_labels_are_fer2013_order():
    assert EMOTIONS == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def test_every_label_has_colour_and_valence():
    assert set(COLORS) == set(EMOTIONS) == set(VALENCE)


def test_common_folder_names_map_to_labels():
    assert canonical("Anger") == "angry"
    assert canonical("sadness") == "sad"
    assert canonical("happiness") == "happy"
    assert canonical("fearful") == "fear"
    assert canonical("disgusted") == "disgust"
    assert canonical("surprised") == "surprise"
    assert canonical(" neutral ") == "neutral"
    assert canonical("3") == "happy"
    assert canonical("contempt") is None
    assert canonical("9") is None
