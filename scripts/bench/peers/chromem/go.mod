module github.com/cliprag/cliprag/scripts/bench/peers/chromem

go 1.26

require github.com/philippgille/chromem-go v0.7.0
