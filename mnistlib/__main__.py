from .cli import main

if __name__ == "__main__":  # not when a grading worker re-imports it (multiprocessing spawn)
    raise SystemExit(main())
