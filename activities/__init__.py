"""Adapters to the outside world, one package per context. Activities are methods of classes built once in worker.py."""
