/* html — escaping, data URIs and the page frame of the HTML report (see html.h). */
#include "reports/html.h"

void html_escape(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

void html_data_uri(FILE *f, const char *mime, const unsigned char *data, size_t n)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    fprintf(f, "data:%s;base64,", mime);
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8 | data[i + 2];
        fputc(b64[v >> 18 & 63], f);
        fputc(b64[v >> 12 & 63], f);
        fputc(b64[v >> 6 & 63], f);
        fputc(b64[v & 63], f);
    }
    if (n - i == 1) {
        unsigned v = (unsigned)data[i] << 16;
        fputc(b64[v >> 18 & 63], f);
        fputc(b64[v >> 12 & 63], f);
        fputs("==", f);
    } else if (n - i == 2) {
        unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8;
        fputc(b64[v >> 18 & 63], f);
        fputc(b64[v >> 12 & 63], f);
        fputc(b64[v >> 6 & 63], f);
        fputc('=', f);
    }
}

static const char style[] =
    "body{font-family:system-ui,-apple-system,'DejaVu Sans',sans-serif;margin:2em auto;max-width:1200px;"
    "padding:0 1em;color:#1a1a1a;line-height:1.4}\n"
    "h1{font-size:1.6em}h2{font-size:1.3em;margin-top:2.2em;border-bottom:1px solid #ccc}\n"
    ".meta{color:#555;font-size:.92em}\n"
    "table{border-collapse:collapse;margin:1em 0;font-size:.9em;font-variant-numeric:tabular-nums}\n"
    ".tw{overflow-x:auto}\n"
    "th,td{border:1px solid #d4d4d4;padding:.25em .6em}td{white-space:nowrap}\n"
    "th{background:#f3f3f3;vertical-align:bottom;max-width:11em}td.r{text-align:right}\n"
    "tr:nth-child(even) td{background:#fafafa}tr.base td{background:#eef5ff}\n"
    ".notes{font-size:.88em;color:#333}.notes li{margin:.15em 0}\n"
    "figure{margin:1.5em 0}figure img{max-width:100%;height:auto;border:1px solid #e2e2e2}\n"
    "figcaption{font-size:.88em;color:#444}.warn{color:#9a3412}\n";

/* Records what a headless browser cannot otherwise tell us: did every image
 * decode, are the plots and inline SVG drawings (the profile's flame graph)
 * laid out with a size, and did anything fail. */
static const char check_script[] =
    "(function(){var errs=[];\n"
    "function note(s){errs.push(String(s).slice(0,200));}\n"
    "window.addEventListener('error',function(e){var t=e.target;"
    "note(t&&t!==window&&t.tagName?('resource failed: '+t.tagName+' '+(t.alt||'')):(e.message||'error'));},true);\n"
    "document.addEventListener('securitypolicyviolation',function(e){note('CSP: '+e.violatedDirective+' '+e.blockedURI);});\n"
    "var ce=console.error;console.error=function(){note('console.error: '+Array.prototype.join.call(arguments,' '));"
    "if(ce)ce.apply(console,arguments);};\n"
    "window.addEventListener('load',function(){var im=document.images,ok=0;"
    "for(var i=0;i<im.length;i++){if(im[i].complete&&im[i].naturalWidth>0)ok++;else note('image not shown: '+im[i].alt);}\n"
    "function vis(e){var r=e.getBoundingClientRect(),s=getComputedStyle(e);"
    "return r.width>40&&r.height>10&&s.display!=='none'&&s.visibility!=='hidden'&&parseFloat(s.opacity)>0;}\n"
    "var pv=0;for(var i=0;i<im.length;i++)if(vis(im[i]))pv++;\n"
    "var sv=document.querySelectorAll('svg'),svv=0,sr=0;for(var i=0;i<sv.length;i++)if(vis(sv[i])){svv++;"
    "var rs=sv[i].querySelectorAll('rect');for(var j=0;j<rs.length;j++)if(rs[j].getBoundingClientRect().width>0)sr++;}\n"
    "var cl=document.querySelectorAll('#conclusions li'),cv=0;for(var i=0;i<cl.length;i++)if(vis(cl[i]))cv++;\n"
    "function top(q){var e=document.querySelector(q);return e?e.getBoundingClientRect().top+window.scrollY:-1;}\n"
    "var tc=top('#conclusions'),tp=top('#plots'),tt=top('#tables');"
    "var order=tc>=0&&tt>tc&&(tp<0||(tp>tc&&tt>tp));\n"
    "var b=document.body;b.setAttribute('data-images-total',String(im.length));"
    "b.setAttribute('data-plots-visible',String(pv));b.setAttribute('data-svgs-visible',String(svv));"
    "b.setAttribute('data-svg-rects',String(sr));b.setAttribute('data-conclusions',String(cl.length));"
    "b.setAttribute('data-conclusions-visible',String(cv));b.setAttribute('data-order-ok',order?'1':'0');"
    "b.setAttribute('data-images-ok',String(ok));b.setAttribute('data-errors',errs.join(' | '));"
    "b.setAttribute('data-check','done');});})();\n";

void html_begin(FILE *f, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
          "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n<title>",
          f);
    html_escape(f, title);
    fprintf(f, "</title>\n<style>\n%s</style>\n<script>\n%s</script>\n</head>\n<body>\n", style, check_script);
}

void html_end(FILE *f)
{
    fputs("</body>\n</html>\n", f);
}
