module github.com/onnxquant/onnxquant

go 1.26

require google.golang.org/protobuf v1.36.10 // indirect
