package mcp

import (
	_ "github.com/mark3labs/mcp-go/client"
	_ "github.com/mark3labs/mcp-go/mcp"
	_ "golang.org/x/image/font/opentype"
	_ "golang.org/x/image/webp"
	_ "golang.org/x/term"
	_ "golang.org/x/text/unicode/norm"
)
