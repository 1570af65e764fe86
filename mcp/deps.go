package mcp

import _ "github.com/mark3labs/mcp-go/server"
