package langchaingo

import _ "github.com/tmc/langchaingo/tools"
