package config

import _ "github.com/joho/godotenv"
