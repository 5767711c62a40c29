"""Reproduction workflow for MTAAL (Zhou et al., AAAI 2021) and multitask transformer NER
(Rodriguez, Nguyen & McInnes, J Biomed Inform 2022)."""

__version__ = "0.1.0"
