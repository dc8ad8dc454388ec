# A package only so that `python3 -m unittest discover -s e2e` finds test_analyze.py here.
