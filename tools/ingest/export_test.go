package ingest

// WithStageHook returns o with a hook called as each stage of a run
// finishes a piece of work, with the stage's name (Stages).
func WithStageHook(o Options, hook func(stage string)) Options {
	o.stageHook = hook
	return o
}

// Stages are the names WithStageHook's hook is called with, in pipeline order.
var Stages = []string{stageWalk, stageList, stageTags, stageRead, stageClassify, stageDecode, stageText, stageEmbed, stageRetag, stageWrite, stagePrune}
