"""Synthetic PA chest radiograph phantoms with ground-truth finding masks (render), and the iu-phantom
dataset built from the Indiana University reports (iu_dataset). numpy only (Pillow to write PNGs)."""
