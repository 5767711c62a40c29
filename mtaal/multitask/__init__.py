"""Multitask transformer NER (Rodriguez, Nguyen & McInnes, J Biomed Inform 2022): WordPiece preprocessing,
single-task and multi-task BERT models over the HUNER corpora."""
