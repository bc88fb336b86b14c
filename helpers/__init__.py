"""Shared NumPy kernels for the classification course pack.

One module per concept: ``data``, ``activations``, ``losses``, ``regularization``,
``layers``, ``optim``, ``training``, ``gradcheck``, ``linear``, ``mlp``, ``plots``,
``metrics``, ``results``, ``mode``. Import the module you need (``from helpers import
losses``); nothing is re-exported here. Nothing here knows about grading: the autograded
test cells call the ``checker`` package, which uses these kernels as the reference.
"""
