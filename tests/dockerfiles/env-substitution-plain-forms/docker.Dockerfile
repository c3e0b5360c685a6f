# Docker 20.10 refuses ${variable-word} and ${variable+word} ("missing ':' in substitution"), which the
# current reference defines: the image the reference describes, values written out.
FROM scratch
ENV SET=value EMPTY=
ENV C1=xvalue C2=x C3=xword
ENV D1=xword D2=xword D3=x
