"""The `make demo` job: python tools/demo_job.py [--skip-training]; see higherhrnet/demo_job.py."""
from higherhrnet.demo_job import main

if __name__ == "__main__":
    main()
