import FuzzSupport

runFuzzer(fuzzTarget)
