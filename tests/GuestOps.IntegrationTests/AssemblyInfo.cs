// Test classes run two at a time (the CI machine has 2 cores); tests inside a class run in order. Every class starts
// its own server process or uses the shared one, so classes do not interfere.
[assembly: Parallelize(Workers = 2, Scope = ExecutionScope.ClassLevel)]
