"""What omnifig imports to activate the project (``.fig.project.yml: module``).

omnifig removes the modules of the package it imports from ``sys.modules`` afterwards; importing the real
packages from here keeps ``framework`` and the plugins imported (pickling, spawn workers, ``isinstance``).
"""
import omnifig as fig

import framework  # noqa: F401  (registers the core components)
from framework import plugins
from framework.config import attach

plugins.load_all()
attach(fig.get_current_project())
