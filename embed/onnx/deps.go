package onnx

import _ "github.com/yalue/onnxruntime_go"
