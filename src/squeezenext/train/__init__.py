"""Training and evaluation: the paper's recipe from one CPU to many machines."""
