package api

import (
	"embed"
	"net/http"
	"path"

	"github.com/gin-gonic/gin"
)

// static holds the pages' scripts: external files, so the pages run under a
// Content-Security-Policy without inline scripts.
//
//go:embed static/*.js
var static embed.FS

// staticFile serves one embedded script.
func staticFile(c *gin.Context) {
	b, err := static.ReadFile("static/" + path.Base(c.Param("name")))
	if err != nil {
		c.AbortWithStatus(http.StatusNotFound)
		return
	}
	c.Header("Cache-Control", "max-age=3600")
	c.Data(http.StatusOK, "text/javascript; charset=utf-8", b)
}
