"""Shared NumPy kernels for the classification course pack.

One module per concept: ``data``, ``activations``, ``losses``, ``regularization``,
``layers``, ``optim``, ``training``, ``gradcheck``, ``linear``, ``mlp``, ``plots``,
``results``, ``mode``; ``checks``, ``exercises`` and ``diagnose`` are what the autograded
cells call.
Import the module you need (``from helpers import losses``); nothing is re-exported here.
"""
